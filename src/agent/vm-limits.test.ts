import { EventEmitter } from 'node:events';
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import type { VmAssignment } from '../api/agent-protocol.js';
import type { ResourceLimits } from '../core/resource-controls.js';
import type { CgroupDetection, CgroupLayout, VmLimits } from '../host/cgroups.js';
import { CgroupError } from '../host/cgroups.js';
import type { BlockInfo } from '../qemu/io-throttle.js';
import { VmLimiter, type CgroupOps } from './vm-limits.js';
import type { VmRuntime } from './vm-runtime.js';

const LAYOUT: CgroupLayout = { version: 1, parents: { cpu: '/cg/cpu', memory: '/cg/memory' }, group: 'drover' };
const warnings: string[] = [];
const log = pino({ level: 'warn' }, { write: (s: string) => void warnings.push((JSON.parse(s) as { msg: string }).msg) });

/** A cgroup adapter that keeps one group per VM in memory, with the kernel's answers. */
function fakeCgroups() {
  const groups = new Map<string, { pid: number; limits: VmLimits }>();
  const calls: string[] = [];
  const ops: CgroupOps = {
    async apply(_l, vmId, pid, limits) {
      calls.push(`apply ${pid} ${JSON.stringify(limits)}`);
      if ((limits.memoryLimitMiB ?? Infinity) < 100) throw new CgroupError('memoryLimitMiB: 64 is below what the VM uses now (100 MiB)', 'memoryLimitMiB');
      groups.set(vmId, { pid, limits });
    },
    async read(_l, vmId) {
      const g = groups.get(vmId);
      if (!g) return null;
      const { cpuWeight = 100, cpuLimitCores = null, memoryLimitMiB = null } = g.limits;
      return { limits: { cpuWeight, cpuLimitCores, memoryLimitMiB }, pids: [g.pid], usage: { cpuNs: 5e9, throttledNs: 2.5e9, memoryBytes: 300 * 1024 ** 2 } };
    },
    async remove(_l, vmId) {
      calls.push(`remove ${vmId}`);
      groups.delete(vmId);
    },
  };
  return { ops, groups, calls };
}

/** A running QEMU: its pid, a QMP that keeps disk throttles like QEMU, and its exit event. */
function fakeRuntime(pid: number) {
  const blocks: BlockInfo[] = ['disk-boot', 'disk-data1'].map((id) => ({ device: '', qdev: `/machine/peripheral/${id}/virtio-backend`, inserted: { bps: 0, bps_rd: 0, bps_wr: 0, iops: 0, iops_rd: 0, iops_wr: 0 } }));
  const commands: string[] = [];
  const rt = Object.assign(new EventEmitter(), {
    pid,
    hasExited: false,
    qmp: {
      async execute<T>(command: string, args?: Record<string, number | string>): Promise<T> {
        commands.push(command);
        if (command === 'query-block') return structuredClone(blocks) as T;
        const b = blocks.find((x) => x.qdev === args?.['id']);
        Object.assign(b!.inserted!, { iops_rd: args!['iops_rd'], iops_wr: args!['iops_wr'], bps_rd: args!['bps_rd'], bps_wr: args!['bps_wr'] });
        return {} as T;
      },
    },
  });
  return { rt: rt as unknown as VmRuntime & EventEmitter, commands, exit: () => Object.assign(rt, { hasExited: true }).emit('exit', {}) };
}

const assignment = (limits?: ResourceLimits, power: VmAssignment['power'] = 'running') =>
  ({ id: 'vm1', name: 'web', power, spec: { cpus: 2, memoryMiB: 256, ...(limits ? { limits } : {}) } }) as unknown as VmAssignment;

describe('VmLimiter', () => {
  it('leaves a VM without limits alone: no cgroup, no QMP, nothing reported', async () => {
    const cg = fakeCgroups();
    const q = fakeRuntime(100);
    const limiter = new VmLimiter('vm1', { layout: LAYOUT }, log, cg.ops);
    await limiter.reconcile(q.rt, assignment(), { qmp: true });
    expect(cg.calls).toEqual([]);
    expect(q.commands).toEqual([]);
    expect(await limiter.report(q.rt, { cpuSeconds: 1, rssBytes: 1 })).toEqual({});
  });

  it('applies CPU and memory to the cgroup and disk caps to every disk, reports them, and follows changes live', async () => {
    const cg = fakeCgroups();
    const q = fakeRuntime(100);
    const limiter = new VmLimiter('vm1', { layout: LAYOUT }, log, cg.ops);
    await limiter.reconcile(q.rt, assignment({ cpuLimitCores: 1, diskReadIops: 200 }), { qmp: true });
    await limiter.reconcile(q.rt, assignment({ cpuLimitCores: 1, diskReadIops: 200 }), { qmp: true });
    expect(cg.calls).toEqual(['apply 100 {"cpuLimitCores":1}']);
    const r = await limiter.report(q.rt, { cpuSeconds: 1, rssBytes: 1 });
    expect(r.limits).toEqual({
      cgroup: { version: 1, cpuWeight: 100, cpuLimitCores: 1 },
      disks: [
        { id: 'disk-boot', readIops: 200, writeIops: 0, readBytesPerSec: 0, writeBytesPerSec: 0 },
        { id: 'disk-data1', readIops: 200, writeIops: 0, readBytesPerSec: 0, writeBytesPerSec: 0 },
      ],
    });
    expect(r.stats).toEqual({ cpuSeconds: 1, rssBytes: 1, cpuThrottledSeconds: 2.5, cgroupMemoryBytes: 300 * 1024 ** 2 });

    // Cleared: the cgroup goes back to unlimited (QEMU stays in it), the disks to no cap.
    await limiter.reconcile(q.rt, assignment(undefined), { qmp: true });
    expect(cg.calls.at(-1)).toBe('apply 100 {}');
    expect((await limiter.report(q.rt, undefined)).limits?.disks?.every((d) => d.readIops === 0)).toBe(true);
  });

  it('keeps QMP away while the VM migrates, and the cgroup does not wait for it', async () => {
    const cg = fakeCgroups();
    const q = fakeRuntime(100);
    const limiter = new VmLimiter('vm1', { layout: LAYOUT }, log, cg.ops);
    await limiter.reconcile(q.rt, assignment({ memoryLimitMiB: 512, diskWriteIops: 10 }), { qmp: false });
    expect(q.commands).toEqual([]);
    expect(cg.calls).toEqual(['apply 100 {"memoryLimitMiB":512}']);
  });

  it('removes the group when QEMU exits, and a new QEMU gets it again', async () => {
    const cg = fakeCgroups();
    const first = fakeRuntime(100);
    const limiter = new VmLimiter('vm1', { layout: LAYOUT }, log, cg.ops);
    await limiter.reconcile(first.rt, assignment({ cpuWeight: 50 }), { qmp: true });
    first.exit();
    const second = fakeRuntime(200);
    await limiter.reconcile(second.rt, assignment({ cpuWeight: 50 }), { qmp: true });
    expect(cg.calls).toEqual(['apply 100 {"cpuWeight":50}', 'remove vm1', 'apply 200 {"cpuWeight":50}']);
  });

  it('says why in the report when the host has no cgroups or refuses a value, and runs the VM anyway', async () => {
    const none: CgroupDetection = { layout: null, reason: 'no cgroup hierarchy under /sys/fs/cgroup has the cpu and memory controllers' };
    const q = fakeRuntime(100);
    const limiter = new VmLimiter('vm1', none, log, fakeCgroups().ops);
    await limiter.reconcile(q.rt, assignment({ cpuLimitCores: 1 }), { qmp: true });
    expect((await limiter.report(q.rt, undefined)).limits).toEqual({ problems: ['CPU and memory limits are not applied: no cgroup hierarchy under /sys/fs/cgroup has the cpu and memory controllers'] });

    const cg = fakeCgroups();
    const refused = new VmLimiter('vm1', { layout: LAYOUT }, log, cg.ops);
    await refused.reconcile(q.rt, assignment({ memoryLimitMiB: 64 }), { qmp: true });
    expect((await refused.report(q.rt, undefined)).limits?.problems).toEqual(['CPU and memory limits are not applied: memoryLimitMiB: 64 is below what the VM uses now (100 MiB)']);
    expect(warnings.filter((w) => w.includes('below what the VM uses'))).toHaveLength(1);

    // Its QEMU exits: whatever the failed apply made is removed, and the problem is forgotten.
    Object.assign(q.rt, { hasExited: true }).emit('exit', {});
    const next = fakeRuntime(300);
    await refused.reconcile(next.rt, assignment(undefined), { qmp: true });
    expect(cg.calls.at(-1)).toBe('remove vm1');
    expect(await refused.report(next.rt, undefined)).toEqual({});
  });
});
