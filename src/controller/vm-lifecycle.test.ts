// Power operations, delete, crashes and rollback, against a fake agent that
// converges by itself (or is told to misbehave).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Vm } from '../api/resources.js';
import { vmReport } from './test-support/fake-agent.js';
import { eventually, startTestBed, type TestBed } from './test-support/harness.js';

describe('VM lifecycle with a converging agent', () => {
  let bed: TestBed;
  const show = (name = 'life'): Promise<Vm> => bed.client.call('getVm', { params: { name } });
  const wait = async (r: Promise<{ job: { id: string } }>) => bed.client.waitJob((await r).job.id, undefined, 20);

  beforeAll(async () => {
    bed = await startTestBed();
    bed.agent.converge();
    await wait(bed.client.call('createVm', { body: { name: 'life', image: 'tiny' } }));
  });
  afterAll(async () => {
    await bed?.stop();
  });

  it('runs the created VM', async () => {
    expect(await show()).toMatchObject({ phase: 'Running', intent: 'running', epoch: 1 });
  });

  it('refuses an illegal transition with 409 and the allowed phases, and changes nothing', async () => {
    const before = await show();
    const jobs = (await bed.client.call('listJobs')).length;
    await expect(bed.client.call('resumeVm', { params: { name: 'life' }, body: {} })).rejects.toMatchObject({ code: 'conflict', message: expect.stringMatching(/cannot resume a VM that is Running.*Paused/) });
    await expect(bed.client.call('startVm', { params: { name: 'life' }, body: {} })).rejects.toMatchObject({ code: 'conflict' });
    expect(await show()).toEqual(before);
    expect((await bed.client.call('listJobs')).length).toBe(jobs);
  });

  it('answers not_found for an unknown VM', async () => {
    await expect(bed.client.call('stopVm', { params: { name: 'ghost' }, body: {} })).rejects.toMatchObject({ code: 'not_found', message: expect.stringContaining('ghost') });
  });

  it('pauses and resumes', async () => {
    await wait(bed.client.call('pauseVm', { params: { name: 'life' }, body: {} }));
    expect(await show()).toMatchObject({ phase: 'Paused', intent: 'paused' });
    await wait(bed.client.call('resumeVm', { params: { name: 'life' }, body: {} }));
    expect(await show()).toMatchObject({ phase: 'Running', intent: 'running' });
  });

  it('reboots: the rebootSeq goes up and the job waits for the agent to carry it out', async () => {
    const job = await wait(bed.client.call('rebootVm', { params: { name: 'life' }, body: {} }));
    expect(job.state).toBe('succeeded');
    expect(await show()).toMatchObject({ phase: 'Running', rebootSeq: 1 });
  });

  it('stops (force) and starts again with a new epoch', async () => {
    await wait(bed.client.call('stopVm', { params: { name: 'life' }, body: { force: true } }));
    expect(await show()).toMatchObject({ phase: 'Stopped', intent: 'stopped', forceStop: true });
    expect((await show()).pid).toBeUndefined();
    await wait(bed.client.call('startVm', { params: { name: 'life' }, body: {} }));
    expect(await show()).toMatchObject({ phase: 'Running', intent: 'running', epoch: 2, forceStop: false });
  });

  it('a crash report makes the VM Failed with the reason; start recovers it', async () => {
    const vm = await show();
    bed.agent.override.set(vm.id, { state: 'crashed', reason: 'QEMU exited with status 1: boom' });
    await eventually(async () => (await show()).phase === 'Failed', 'Failed');
    expect((await show()).reason).toContain('boom');
    bed.agent.override.delete(vm.id);
    await wait(bed.client.call('startVm', { params: { name: 'life' }, body: {} }));
    expect(await show()).toMatchObject({ phase: 'Running', epoch: 3 });
    expect((await show()).reason).toBeUndefined();
  });

  it('a guest that powers itself off becomes Stopped with intent stopped', async () => {
    const vm = await show();
    bed.agent.override.set(vm.id, { state: 'stopped', reason: 'guest powered off' });
    await eventually(async () => (await show()).phase === 'Stopped', 'Stopped');
    expect(await show()).toMatchObject({ intent: 'stopped', reason: 'guest powered off' });
    bed.agent.override.delete(vm.id);
  });

  it('deletes: Deleting, absent for the agent, gone, then the records go', async () => {
    const vm = await show();
    expect((await bed.client.call('listVolumes')).some((v) => v.vmId === vm.id)).toBe(true);
    const { job } = await bed.client.call('deleteVm', { params: { name: 'life' } });
    await bed.client.waitJob(job.id, undefined, 20);
    await expect(show()).rejects.toMatchObject({ code: 'not_found' });
    expect((await bed.client.call('listVolumes')).filter((v) => v.vmId === vm.id)).toEqual([]);
    expect((await bed.agent.assignments()).vms.find((v) => v.id === vm.id)).toBeUndefined();
    // The name is free again.
    await wait(bed.client.call('createVm', { body: { name: 'life', image: 'tiny' } }));
  });

  it('rolls a create back when the VM fails to start: the VM and its name are gone', async () => {
    bed.agent.stopConverging();
    const { vm, job } = await bed.client.call('createVm', { body: { name: 'doomed', image: 'tiny' } });
    const a = await eventually(async () => (await bed.agent.assignments()).vms.find((v) => v.id === vm.id), 'assignment');
    const others = async () => (await bed.agent.assignments()).vms.filter((v) => v.id !== vm.id).flatMap((v) => bed.agent.observe(v));
    await bed.agent.report([...(await others()), vmReport(a, 'stopped')]);
    const started = await eventually(async () => (await bed.agent.assignments()).vms.find((v) => v.id === vm.id && v.power === 'running'), 'start');
    await bed.agent.report([...(await others()), vmReport(started, 'crashed', { reason: 'qemu: could not open disk' })]);
    // Rolling back: the agent is told 'absent' and confirms by no longer listing it.
    const absent = await eventually(async () => (await bed.agent.assignments()).vms.find((v) => v.id === vm.id && v.power === 'absent'), 'absent');
    expect(absent).toBeDefined();
    await bed.agent.report(await others());
    const end = await bed.client.waitJob(job.id, undefined, 20).catch(() => bed.client.call('getJob', { params: { id: job.id } }));
    expect(end.state).toBe('rolled-back');
    expect(end.error?.message).toContain('could not open disk');
    expect(end.steps.map((s) => s.state)).toEqual(['undone', 'undone', 'failed']);
    await expect(show('doomed')).rejects.toMatchObject({ code: 'not_found' });
    expect((await bed.client.call('listVolumes')).filter((v) => v.vmId === vm.id)).toEqual([]);
    bed.agent.converge();
  });
});

describe('VM create without a Ready host', () => {
  it('answers unavailable and changes nothing', async () => {
    const bed = await startTestBed({ join: false });
    try {
      await expect(bed.client.call('createVm', { body: { name: 'x', image: 'tiny' } })).rejects.toMatchObject({ code: 'unavailable' });
      expect(await bed.client.call('listVms')).toEqual([]);
      expect(await bed.client.call('listJobs')).toEqual([]);
    } finally {
      await bed.stop();
    }
  });
});
