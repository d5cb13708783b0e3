// Resource controls through the real controller (SQLite, HTTP API) and a fake
// agent: set at create, changed and removed with PUT /v1/vms/:name/limits,
// handed to the agent in the assignment, refused with the field named (and
// nothing changed), and what the agent reports in force shown on the VM.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SetVmLimitsRequest } from '../api/limits.js';
import type { CreateVmRequest } from '../api/requests.js';
import { limitsAfter, withLimits } from './vm-limits.js';
import { eventually, startTestBed, type TestBed } from './test-support/harness.js';

describe('limitsAfter (pure)', () => {
  const spec = { cpus: 2, memoryMiB: 256, limits: { cpuWeight: 200, diskReadIops: 100 } };
  it('merges, removes with null, clears, and refuses with the field', () => {
    expect(limitsAfter(spec, { set: { cpuLimitCores: 1 }, remove: ['cpuWeight'] })).toEqual({ diskReadIops: 100, cpuLimitCores: 1 });
    expect(limitsAfter(spec, { clear: true })).toEqual({});
    expect(() => limitsAfter(spec, {})).toThrow(/nothing to change/);
    expect(() => limitsAfter(spec, { set: { cpuLimitCores: 4 } })).toThrow(expect.objectContaining({ field: 'set.cpuLimitCores', allowed: '0.01 to 2' }));
    expect(() => limitsAfter(spec, { set: { memoryLimitMiB: 256 } })).toThrow(expect.objectContaining({ field: 'set.memoryLimitMiB' }));
    expect(() => limitsAfter(spec, { set: { cpuWeight: 5 }, remove: ['cpuWeight'] })).toThrow(expect.objectContaining({ field: 'remove[0]' }));
  });
  it('drops an empty limits object from the spec', () => {
    expect(withLimits({ ...spec, image: 'tiny' } as never, {})).not.toHaveProperty('limits');
  });
});

describe('VM limits on a live controller', () => {
  let bed: TestBed;
  const errorOf = <T>(p: Promise<T>) => p.then(() => undefined, (e: unknown) => e as Error & { code: string; field?: string });
  const setLimits = (name: string, body: SetVmLimitsRequest) => bed.client.call('setVmLimits', { params: { name }, body });
  const vm = (name: string) => bed.client.call('getVm', { params: { name } });

  beforeAll(async () => {
    bed = await startTestBed();
    bed.agent.converge();
  });
  afterAll(async () => {
    await bed?.stop();
  });

  it('takes limits at create and hands them to the agent', async () => {
    const body: CreateVmRequest = { name: 'capped', image: 'tiny', cpus: 2, memoryMiB: 256, limits: { cpuLimitCores: 1, memoryLimitMiB: 512, diskReadIops: 200 } };
    const { job } = await bed.client.call('createVm', { body });
    await bed.client.waitJob(job.id, undefined, 20);
    expect((await vm('capped')).spec.limits).toEqual({ cpuLimitCores: 1, memoryLimitMiB: 512, diskReadIops: 200 });
    const a = (await bed.agent.assignments()).vms.find((v) => v.name === 'capped');
    expect(a?.spec.limits).toEqual({ cpuLimitCores: 1, memoryLimitMiB: 512, diskReadIops: 200 });
  });

  const badCreates: Array<{ limits: Record<string, unknown>; field: string; message: RegExp }> = [
    { limits: { cpuLimitCores: 3 }, field: 'limits.cpuLimitCores', message: /more than the VM's 2 vCPUs/ },
    { limits: { memoryLimitMiB: 300 }, field: 'limits.memoryLimitMiB', message: /at least 320/ },
    { limits: { cpuWeight: 0 }, field: 'limits.cpuWeight', message: /must be >= 1/ },
    { limits: { cpuShares: 5 }, field: 'limits.cpuShares', message: /limits.cpuShares is not a limit/ },
  ];
  for (const b of badCreates) {
    it(`refuses a create with limits ${JSON.stringify(b.limits)}, naming ${b.field}`, async () => {
      const before = await bed.client.call('listVms');
      const err = await errorOf(bed.client.call('createVm', { body: { name: 'nope', image: 'tiny', cpus: 2, memoryMiB: 256, limits: b.limits } as CreateVmRequest }));
      expect(err).toMatchObject({ code: 'invalid', field: b.field });
      expect(err?.message).toMatch(b.message);
      expect(await bed.client.call('listVms')).toEqual(before);
    });
  }

  it('changes them live: set, removed with null, cleared; an event says so', async () => {
    const events: string[] = [];
    const unsubscribe = bed.ctl.ctx.state.events.subscribe((e) => e.kind === 'vm.limits' && events.push(e.message));
    expect((await setLimits('capped', { set: { cpuLimitCores: 0.5, diskWriteBytesPerSec: 10 * 1024 ** 2 }, remove: ['memoryLimitMiB'] })).spec.limits).toEqual({ cpuLimitCores: 0.5, diskReadIops: 200, diskWriteBytesPerSec: 10 * 1024 ** 2 });
    await eventually(async () => (await bed.agent.assignments()).vms.find((v) => v.name === 'capped')?.spec.limits?.cpuLimitCores === 0.5, 'the assignment follows');
    expect((await setLimits('capped', { set: { cpuWeight: 300 }, clear: true })).spec.limits).toEqual({ cpuWeight: 300 });
    expect((await setLimits('capped', { clear: true })).spec).not.toHaveProperty('limits');
    unsubscribe();
    expect(events).toEqual([
      'VM capped: limits CPU limit 0.5 cores, disk read 200 IOPS, disk write 10 MiB/s',
      'VM capped: limits CPU weight 300',
      'VM capped: limits none',
    ]);
  });

  const badSets: Array<{ body: Record<string, unknown>; field: string; message: RegExp }> = [
    { body: {}, field: 'set', message: /nothing to change/ },
    { body: { set: { cpuLimitCores: 0 } }, field: 'set.cpuLimitCores', message: /set.cpuLimitCores must be >= 0.01/ },
    { body: { set: { cpuLimitCores: 2.5 } }, field: 'set.cpuLimitCores', message: /more than the VM's 2 vCPUs/ },
    { body: { set: { diskReadIops: 'fast' } }, field: 'set.diskReadIops', message: /must be/ },
    { body: { set: { memoryLimitMiB: 100 } }, field: 'set.memoryLimitMiB', message: /give at least 320/ },
    { body: { set: { cpu: 1 } }, field: 'set.cpu', message: /set.cpu is not a limit/ },
    { body: { remove: ['cpuShares'] }, field: 'remove[0]', message: /must be one of: cpuWeight/ },
  ];
  for (const b of badSets) {
    it(`refuses limits ${JSON.stringify(b.body)}, naming ${b.field}, and changes nothing`, async () => {
      await setLimits('capped', { set: { cpuWeight: 50 }, clear: true });
      const before = await vm('capped');
      const err = await errorOf(setLimits('capped', b.body as SetVmLimitsRequest));
      expect(err).toMatchObject({ code: 'invalid', field: b.field });
      expect(err?.message).toMatch(b.message);
      expect((await vm('capped')).spec).toEqual(before.spec);
    });
  }

  it('refuses growing memory past the memory cap, naming memoryMiB', async () => {
    await setLimits('capped', { set: { memoryLimitMiB: 400 } });
    const err = await errorOf(bed.client.call('resizeVm', { params: { name: 'capped' }, body: { memoryMiB: 512 } }));
    expect(err).toMatchObject({ code: 'invalid', field: 'memoryMiB' });
    expect(err?.message).toMatch(/memory limit of 400 MiB; raise it first/);
  });

  it('shows what the agent reports in force, and the throttled time in its stats', async () => {
    const id = (await vm('capped')).id;
    const applied = { cgroup: { version: 1 as const, cpuWeight: 50, memoryLimitMiB: 400 } };
    bed.agent.override.set(id, { limits: applied, stats: { cpuSeconds: 3, rssBytes: 1024, cpuThrottledSeconds: 1.5, cgroupMemoryBytes: 200 * 1024 ** 2 } });
    const shown = await eventually(async () => {
      const v = await vm('capped');
      return v.appliedLimits ? v : undefined;
    }, 'appliedLimits');
    expect(shown.appliedLimits).toEqual(applied);
    expect(shown.stats).toMatchObject({ cpuThrottledSeconds: 1.5, cgroupMemoryBytes: 200 * 1024 ** 2 });
  });
});
