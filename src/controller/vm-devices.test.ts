// Disk and NIC changes against a fake agent: the job writes the spec and
// waits for the reported devices; an agent error rolls the spec back; a
// stopped VM just takes the change; refusals change nothing.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Vm } from '../api/resources.js';
import { eventually, startTestBed, type TestBed } from './test-support/harness.js';

const MiB = 1048576;

describe('VM disk and NIC changes', () => {
  let bed: TestBed;
  const show = (name = 'dev'): Promise<Vm> => bed.client.call('getVm', { params: { name } });
  const wait = async (r: Promise<{ job: { id: string } }>) => bed.client.waitJob((await r).job.id, undefined, 20);
  /** The fake agent reports these devices plugged (QEMU device ids). */
  const plugged = (vm: Vm, disks: string[], nics: string[], error?: string) => bed.agent.override.set(vm.id, { devices: { disks, nics, ...(error ? { error } : {}) } });

  beforeAll(async () => {
    bed = await startTestBed();
    bed.agent.converge();
    await wait(bed.client.call('createVm', { body: { name: 'dev', image: 'tiny' } }));
    plugged(await show(), ['disk-boot'], ['net0']);
  });
  afterAll(async () => {
    await bed?.stop();
  });

  it('hot-adds a disk on a free hotplug port and waits until the agent has it plugged', async () => {
    const vm = await show();
    const r = await bed.client.call('addVmDisk', { params: { name: 'dev' }, body: { sizeBytes: 64 * MiB } });
    await eventually(async () => (await show()).spec.volumes.length === 2, 'the spec written', 5000);
    expect((await bed.client.call('getJob', { params: { id: r.job.id } })).state).toBe('running');
    plugged(vm, ['disk-boot', 'disk-data1'], ['net0']);
    expect((await bed.client.waitJob(r.job.id, undefined, 20)).state).toBe('succeeded');
    const after = await show();
    expect(after.spec.volumes[1]).toEqual({ id: `${vm.id}-data1`, role: 'data', sizeBytes: 64 * MiB, port: 'hp0' });
    expect(after.spec.rootPorts).toEqual(['rp-disk-boot', 'rp-net0', 'hp0', 'hp1', 'hp2', 'hp3']);
    expect(after.liveDevices).toEqual({ disks: [`${vm.id}-boot`, `${vm.id}-data1`], nics: ['net0'] });
  });

  it('rolls the spec back when the agent cannot plug the device', async () => {
    const before = await show();
    plugged(before, ['disk-boot', 'disk-data1'], ['net0'], 'cannot plug NIC net1: QMP device_add failed');
    const r = await bed.client.call('addVmNic', { params: { name: 'dev' }, body: {} });
    await expect(bed.client.waitJob(r.job.id, undefined, 20)).rejects.toMatchObject({ message: expect.stringMatching(/device_add failed/) });
    expect((await bed.client.call('getJob', { params: { id: r.job.id } })).state).toBe('rolled-back');
    expect((await show()).spec).toEqual(before.spec);
    plugged(before, ['disk-boot', 'disk-data1'], ['net0']);
  });

  it('refuses a migration while the plugged devices differ from the spec', async () => {
    plugged(await show(), ['disk-boot'], ['net0']);
    await eventually(async () => (await show()).liveDevices?.disks.length === 1, 'the report', 5000);
    await expect(bed.client.call('migrateVm', { params: { name: 'dev' }, body: {} })).rejects.toMatchObject({ code: 'conflict', message: expect.stringMatching(/differ from its spec/) });
    plugged(await show(), ['disk-boot', 'disk-data1'], ['net0']);
  });

  it('refuses bad requests naming the field, and changes nothing', async () => {
    const before = await show();
    const jobs = (await bed.client.call('listJobs')).length;
    const cases: Array<[() => Promise<unknown>, string, string]> = [
      [() => bed.client.call('removeVmDisk', { params: { name: 'dev', id: 'boot' } }), 'disk', 'invalid'],
      [() => bed.client.call('removeVmDisk', { params: { name: 'dev', id: 'data7' } }), 'disk', 'invalid'],
      [() => bed.client.call('removeVmNic', { params: { name: 'dev', id: 'net0' } }), 'nic', 'invalid'],
      [() => bed.client.call('addVmDisk', { params: { name: 'dev' }, body: {} }), 'sizeBytes', 'invalid'],
      [() => bed.client.call('addVmDisk', { params: { name: 'dev' }, body: { volume: 'data1' } }), 'volume', 'invalid'],
      [() => bed.client.call('addVmNic', { params: { name: 'dev' }, body: { network: 'bridge' } }), 'network', 'invalid'],
    ];
    // Each call made when its turn comes: a rejected promise nobody awaits yet is an unhandled rejection.
    for (const [call, field, code] of cases) await expect(call()).rejects.toMatchObject({ field, code });
    expect((await show()).spec).toEqual(before.spec);
    expect((await bed.client.call('listJobs')).length).toBe(jobs);
  });

  it('refuses to unplug from a paused guest (it cannot answer)', async () => {
    await wait(bed.client.call('pauseVm', { params: { name: 'dev' }, body: {} }));
    await expect(bed.client.call('removeVmDisk', { params: { name: 'dev', id: 'data1' } })).rejects.toMatchObject({ code: 'conflict', message: expect.stringMatching(/Paused.*resume it first/) });
    await wait(bed.client.call('resumeVm', { params: { name: 'dev' }, body: {} }));
  });

  it('a stopped VM takes the change in its spec at once, every device on its own port again', async () => {
    await wait(bed.client.call('stopVm', { params: { name: 'dev' }, body: {} }));
    const job = await wait(bed.client.call('removeVmDisk', { params: { name: 'dev', id: 'data1' }, query: { delete: true } }));
    expect(job.state).toBe('succeeded');
    const vm = await show();
    expect(vm.spec.volumes.map((v) => v.role)).toEqual(['boot']);
    expect(vm.spec.rootPorts).toBeUndefined();
    expect((await wait(bed.client.call('addVmNic', { params: { name: 'dev' }, body: {} }))).state).toBe('succeeded');
    expect((await show()).spec.nics).toEqual([{ id: 'net1', mac: expect.stringMatching(/^52:54:00:/), network: 'user' }]);
  });
});
