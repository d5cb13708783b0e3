// The resource pool level of a VM's cgroup, as the agent's VmLimiter drives
// it: a VM of a pool with CPU shares gets a group below its pool's, moves when
// its pool changes, and its group (in the right pool) goes when QEMU exits.
import { EventEmitter } from 'node:events';
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import type { VmAssignment } from '../api/agent-protocol.js';
import type { CgroupLayout } from '../host/cgroups.js';
import { VmLimiter, type CgroupOps } from './vm-limits.js';
import type { VmRuntime } from './vm-runtime.js';

const LAYOUT: CgroupLayout = { version: 2, parents: { cpu: '/cg', memory: '/cg' }, group: 'drover' };
const log = pino({ level: 'silent' });

function fakeOps() {
  const calls: string[] = [];
  const ops: CgroupOps = {
    async apply(_l, vmId, pid, limits, pool) {
      calls.push(`apply ${vmId} ${pid} ${JSON.stringify(limits)} ${pool ? `${pool.name}:${pool.cpuWeight}` : '-'}`);
    },
    async read() {
      return { limits: { cpuWeight: 100, cpuLimitCores: null, memoryLimitMiB: null }, pids: [100], usage: { cpuNs: 1, throttledNs: null, memoryBytes: 1 } };
    },
    async remove(_l, vmId, _o, pool) {
      calls.push(`remove ${vmId} ${pool ?? '-'}`);
    },
  };
  return { ops, calls };
}

function runtime(pid: number) {
  const rt = Object.assign(new EventEmitter(), { pid, hasExited: false, qmp: {} });
  return { rt: rt as unknown as VmRuntime & EventEmitter, exit: () => Object.assign(rt, { hasExited: true }).emit('exit', {}) };
}

const assignment = (pool?: { name: string; cpuWeight: number }) =>
  ({ id: 'vm1', name: 'web', power: 'running', spec: { cpus: 2, memoryMiB: 256 }, ...(pool ? { resourcePool: pool } : {}) }) as unknown as VmAssignment;

describe('VmLimiter and resource pool groups', () => {
  it('puts the VM below its pool group, moves it when the pool changes, and removes the group it is in at exit', async () => {
    const cg = fakeOps();
    const q = runtime(100);
    const limiter = new VmLimiter('vm1', { layout: LAYOUT }, log, cg.ops);
    await limiter.reconcile(q.rt, assignment({ name: 'gold', cpuWeight: 200 }), { qmp: false });
    await limiter.reconcile(q.rt, assignment({ name: 'gold', cpuWeight: 200 }), { qmp: false });
    expect(cg.calls).toEqual(['apply vm1 100 {} gold:200']);
    expect((await limiter.report(q.rt, undefined)).limits?.cgroup).toEqual({ version: 2, cpuWeight: 100, pool: 'gold' });
    await limiter.reconcile(q.rt, assignment({ name: 'silver', cpuWeight: 50 }), { qmp: false });
    await limiter.reconcile(q.rt, assignment(), { qmp: false });
    expect(cg.calls.slice(1)).toEqual(['apply vm1 100 {} silver:50', 'remove vm1 gold', 'apply vm1 100 {} -', 'remove vm1 silver']);
    await limiter.reconcile(q.rt, assignment({ name: 'gold', cpuWeight: 200 }), { qmp: false });
    q.exit();
    await limiter.reconcile(null, assignment(), { qmp: false });
    await new Promise((r) => setTimeout(r, 10));
    expect(cg.calls.slice(-3)).toEqual(['apply vm1 100 {} gold:200', 'remove vm1 -', 'remove vm1 gold']);
  });

  it('leaves a VM of a pool without shares alone', async () => {
    const cg = fakeOps();
    const limiter = new VmLimiter('vm1', { layout: LAYOUT }, log, cg.ops);
    await limiter.reconcile(runtime(100).rt, assignment(), { qmp: false });
    expect(cg.calls).toEqual([]);
  });
});
