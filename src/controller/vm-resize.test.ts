// The vm.resize job against a fake agent speaking the real protocol: the spec
// changes, the job waits for the reported plugged size, a failure rolls the
// spec back, and bad requests change nothing.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { VmAssignment } from '../api/agent-protocol.js';
import { vmReport } from './test-support/fake-agent.js';
import { eventually, startTestBed, type TestBed } from './test-support/harness.js';

describe('vm resize', () => {
  let bed: TestBed;
  let vmId = '';
  const assignment = async (): Promise<VmAssignment> => (await bed.agent.assignments()).vms.find((v) => v.id === vmId)!;
  const report = async (size: { cpus: number; memoryMiB: number; error?: string; memoryStalled?: boolean; requestedMemoryMiB?: number }) => bed.agent.report([vmReport(await assignment(), 'running', { pid: 42, size })]);

  beforeAll(async () => {
    bed = await startTestBed();
    const { vm, job } = await bed.client.call('createVm', { body: { name: 'rs', image: 'tiny', cpus: 1, maxCpus: 4, memoryMiB: 256, maxMemoryMiB: 1024 } });
    vmId = vm.id;
    const first = await eventually(async () => (await bed.agent.assignments()).vms.find((v) => v.id === vm.id), 'assignment');
    await bed.agent.report([vmReport(first, 'stopped')]);
    const started = await eventually(async () => ((await assignment()).power === 'running' ? assignment() : undefined), 'start');
    await bed.agent.report([vmReport(started, 'running', { pid: 42, size: { cpus: 1, memoryMiB: 256 } })]);
    expect((await bed.client.waitJob(job.id, undefined, 20)).state).toBe('succeeded');
  });
  afterAll(async () => {
    await bed?.stop();
  });

  it('records the boot memory at creation and shows the plugged size', async () => {
    const vm = await bed.client.call('getVm', { params: { name: 'rs' } });
    expect(vm.spec).toMatchObject({ cpus: 1, memoryMiB: 256, bootMemoryMiB: 256 });
    expect(vm.live).toEqual({ cpus: 1, memoryMiB: 256 });
  });

  it('writes the new size, which the agent is handed, and ends once the agent reports it plugged', async () => {
    const { job } = await bed.client.call('resizeVm', { params: { name: 'rs' }, body: { cpus: 3, memoryMiB: 512 } });
    const a = await eventually(async () => ((await assignment()).spec.cpus === 3 ? assignment() : undefined), 'the new size in the assignment');
    expect(a.spec).toMatchObject({ cpus: 3, memoryMiB: 512, bootMemoryMiB: 256 });
    await report({ cpus: 3, memoryMiB: 300 }); // the guest is still plugging memory
    expect((await bed.client.call('getJob', { params: { id: job.id } })).state).toBe('running');
    await report({ cpus: 3, memoryMiB: 512 });
    expect((await bed.client.waitJob(job.id, undefined, 20)).state).toBe('succeeded');
    expect((await bed.client.call('getVm', { params: { name: 'rs' } })).live).toEqual({ cpus: 3, memoryMiB: 512 });
  });

  it('ends a shrink the guest cannot finish once the agent says the plugged memory stalled', async () => {
    const { job } = await bed.client.call('resizeVm', { params: { name: 'rs' }, body: { memoryMiB: 256 } });
    await eventually(async () => ((await assignment()).spec.memoryMiB === 256 ? true : undefined), 'the shrink in the assignment');
    await report({ cpus: 3, memoryMiB: 262, requestedMemoryMiB: 256 });
    expect((await bed.client.call('getJob', { params: { id: job.id } })).state).toBe('running');
    await report({ cpus: 3, memoryMiB: 262, requestedMemoryMiB: 256, memoryStalled: true });
    const done = await bed.client.waitJob(job.id, undefined, 20);
    expect(done.state).toBe('succeeded');
    expect(done.progress?.message).toMatch(/all but 6 MiB/);
    await report({ cpus: 3, memoryMiB: 256 });
  });

  it('rolls the spec back when the agent cannot carry the resize out', async () => {
    const { job } = await bed.client.call('resizeVm', { params: { name: 'rs' }, body: { cpus: 4 } });
    await eventually(async () => ((await assignment()).spec.cpus === 4 ? true : undefined), 'the new size in the assignment');
    await report({ cpus: 3, memoryMiB: 256, error: 'cannot resize to 4 vCPUs and 256 MiB: QMP device_add: boom' });
    const done = await bed.client.waitJob(job.id, undefined, 20).catch((e: unknown) => e);
    expect(String(done)).toMatch(/boom/);
    const vm = await eventually(async () => {
      const v = await bed.client.call('getVm', { params: { name: 'rs' } });
      return v.spec.cpus === 3 ? v : undefined;
    }, 'the spec rolled back');
    expect(vm.spec.memoryMiB).toBe(256);
    await report({ cpus: 3, memoryMiB: 256 });
  });

  it('refuses bad sizes naming the field, and changes nothing', async () => {
    const before = await bed.client.call('getVm', { params: { name: 'rs' } });
    const jobs = (await bed.client.call('listJobs')).length;
    for (const [body, field] of [[{ cpus: 5 }, 'cpus'], [{ memoryMiB: 2048 }, 'memoryMiB'], [{ memoryMiB: 200 }, 'memoryMiB'], [{ memoryMiB: 257 }, 'memoryMiB'], [{}, 'request'], [{ cpus: 2, to: 'x' }, 'to']] as const) {
      const err = await bed.client.call('resizeVm', { params: { name: 'rs' }, body }).then(() => undefined, (e: unknown) => e);
      expect(err, JSON.stringify(body)).toMatchObject({ field });
    }
    expect((await bed.client.call('getVm', { params: { name: 'rs' } })).spec).toEqual(before.spec);
    expect((await bed.client.call('listJobs')).length).toBe(jobs);
  });
});
