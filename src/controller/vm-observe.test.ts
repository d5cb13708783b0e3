import { describe, expect, it } from 'vitest';
import type { VmReport } from '../api/agent-protocol.js';
import type { VmRecord } from './records.js';
import { applyVmReport, assignedPower } from './vm-observe.js';

const base: VmRecord = {
  id: 'v1', name: 'web', phase: 'Starting', intent: 'running', hostId: 'h1', epoch: 2, rebootSeq: 0, forceStop: false,
  spec: { image: 'tiny', cpus: 1, maxCpus: 4, memoryMiB: 256, maxMemoryMiB: 1024, volumes: [], ports: [], mac: '52:54:00:00:00:01' },
  createdAt: 't', updatedAt: 't',
};
const report = (r: Partial<VmReport>): VmReport => ({ id: 'v1', state: 'running', epoch: 2, rebootSeq: 0, volumes: [], ...r });

describe('applyVmReport', () => {
  it('holds the phase while the agent still shows an older epoch', () => {
    expect(applyVmReport(base, report({ state: 'stopped', epoch: 1 }), false).phase).toBe('Starting');
  });

  it('moves to Running on the current epoch and copies what was observed', () => {
    const vm = applyVmReport(base, report({ pid: 7, guestReadyAt: 'g', rebootSeq: 0 }), false);
    expect(vm).toMatchObject({ phase: 'Running', pid: 7, guestReadyAt: 'g', observed: { state: 'running', epoch: 2, rebootSeq: 0 } });
  });

  it('a crash is Failed with the reason', () => {
    const vm = applyVmReport({ ...base, phase: 'Running' }, report({ state: 'crashed', reason: 'exit 1' }), false);
    expect(vm).toMatchObject({ phase: 'Failed', reason: 'exit 1', intent: 'running' });
  });

  it('a guest power-off of the current epoch is Stopped and turns the intent to stopped', () => {
    const vm = applyVmReport({ ...base, phase: 'Running' }, report({ state: 'stopped' }), false);
    expect(vm).toMatchObject({ phase: 'Stopped', intent: 'stopped' });
  });

  it('a VM the agent does not list, while a start is in flight, holds its phase', () => {
    expect(applyVmReport(base, undefined, false).phase).toBe('Starting');
  });

  it("a VM to remove is gone only when the agent, told 'absent', no longer lists it", () => {
    const deleting: VmRecord = { ...base, phase: 'Deleting' };
    expect(assignedPower(deleting)).toBe('absent');
    expect(applyVmReport(deleting, undefined, false).gone).toBeFalsy();
    expect(applyVmReport(deleting, report({ state: 'stopped' }), true).gone).toBeFalsy();
    expect(applyVmReport(deleting, undefined, true).gone).toBe(true);
    expect(applyVmReport(deleting, undefined, true).phase).toBe('Deleting');
  });
});
