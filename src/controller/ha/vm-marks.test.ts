// Pure rules of what failover writes on VM records: the restarted record,
// 'released' to the hosts it is stale on, and how their reports undo it.
import { describe, expect, it } from 'vitest';
import { assignmentOf } from '../migration-assign.js';
import type { HostRecord, VmRecord } from '../records.js';
import { assignedPower, toAssignment } from '../vm-observe.js';
import { haProblem, restartedVm } from './restart.js';
import { afterStaleReport, clearHostDown, hostDownReason, staleOn } from './vm-marks.js';

const at = '2026-01-01T00:00:00.000Z';
const spec = { image: 'tiny', cpus: 1, maxCpus: 2, memoryMiB: 256, maxMemoryMiB: 512, volumes: [], ports: [], mac: '52:54:00:00:00:01', storage: 'shared' as const, ha: true, haPriority: 3 };
const vm = (over: Partial<VmRecord> = {}): VmRecord => ({
  id: 'v1', name: 'web', spec, phase: 'Running', intent: 'running', hostId: 'h1', epoch: 4, rebootSeq: 2, forceStop: false, pid: 77,
  observed: { state: 'running', epoch: 4, rebootSeq: 2 }, guestReadyAt: at, createdAt: at, updatedAt: at, ...over,
});
const host = (id: string): HostRecord => ({ id, name: id, state: 'Ready', agentUrl: 'http://x', createdAt: at, credentialHash: '', credentialGeneration: 1 });

describe('restartedVm', () => {
  it('moves a running VM with a new epoch, starting, and remembers the old host', () => {
    const next = restartedVm(vm({ reason: 'host-down: x', agentError: 'e' }), host('h2'), 'h1');
    expect(next).toMatchObject({ hostId: 'h2', epoch: 5, intent: 'running', phase: 'Starting', forceStop: false, staleOn: ['h1'], rebootSeq: 2 });
    for (const k of ['pid', 'observed', 'guestReadyAt', 'reason', 'agentError'] as const) expect(next).not.toHaveProperty(k);
  });

  it('a paused VM runs; a stopped one moves without starting; staleOn accumulates once per host', () => {
    expect(restartedVm(vm({ intent: 'paused' }), host('h2'), 'h1')).toMatchObject({ intent: 'running', phase: 'Starting' });
    expect(restartedVm(vm({ intent: 'stopped', phase: 'Stopped' }), host('h2'), 'h1')).toMatchObject({ intent: 'stopped', phase: 'Stopped', epoch: 5 });
    expect(restartedVm(vm({ staleOn: ['h0', 'h1'] }), host('h2'), 'h1').staleOn).toEqual(['h0', 'h1']);
  });
});

describe('stale hosts', () => {
  const moved = restartedVm(vm(), host('h2'), 'h1');

  it('the old host is told "released", the new one runs it with the new epoch; the spec carries ha to the agents', () => {
    expect(assignmentOf('h1', moved)).toMatchObject({ id: 'v1', power: 'released', epoch: 5 });
    expect(assignmentOf('h2', moved)).toMatchObject({ power: 'running', epoch: 5, spec: { ha: true } });
    expect(assignmentOf('h2', moved)?.spec).not.toHaveProperty('haPriority');
    expect(assignmentOf('h3', moved)).toBeUndefined();
    expect(assignedPower(moved)).toBe('running');
    expect(toAssignment(vm({ spec: { ...spec, ha: false } })).spec).not.toHaveProperty('ha');
  });

  it('a host the VM runs on is never stale for it', () => {
    expect(staleOn({ ...moved, hostId: 'h1' }, 'h1')).toBe(false);
    expect(staleOn(moved, 'h1')).toBe(true);
    expect(staleOn(moved, 'h2')).toBe(false);
  });

  it('is gone from a stale host only when it was handed "released" and no longer lists it', () => {
    const rows: Array<[boolean, boolean, boolean]> = [];
    for (const listed of [false, true]) for (const served of [false, true]) rows.push([listed, served, staleOn(afterStaleReport(moved, 'h1', listed, served), 'h1')]);
    expect(rows).toEqual([[false, false, true], [false, true, false], [true, false, true], [true, true, true]]);
    expect(afterStaleReport(moved, 'h1', false, true)).not.toHaveProperty('staleOn');
    expect(afterStaleReport({ ...moved, staleOn: ['h0', 'h1'] }, 'h1', false, true).staleOn).toEqual(['h0']);
    expect(afterStaleReport(moved, 'h2', false, true)).toBe(moved); // not stale there: untouched
  });

  it('a host-down reason goes once the host reports; other reasons stay', () => {
    expect(clearHostDown(vm({ reason: hostDownReason('host h1 failed') }))).not.toHaveProperty('reason');
    expect(clearHostDown(vm({ reason: 'QEMU crashed' })).reason).toBe('QEMU crashed');
  });
});

describe('haProblem', () => {
  it('refuses hosts whose agent says it cannot fence itself; unknown or fenced-capable hosts are fine', () => {
    expect(haProblem(undefined)).toBeUndefined();
    expect(haProblem({ enabled: true, leaseFresh: false, fenced: [] })).toBeUndefined();
    expect(haProblem({ enabled: false, reason: 'agent flag --no-ha', leaseFresh: false, fenced: [] })).toBe('it cannot fence itself (agent flag --no-ha): HA VMs are not started there');
  });
});
