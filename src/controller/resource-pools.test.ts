// Resource pools through the real controller (SQLite, HTTP API) and a fake
// agent (2 CPUs, 4096 MiB: 8 vCPUs of room with the CPU overcommit of 4):
// create, nesting and pool admission with the field named; VM admission at
// create, start, resize and pool change; delete refused while in use; the
// planner snapshot carries the pools; the agent is handed the pool's CPU
// shares as a cgroup weight.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CreateVmRequest } from '../api/requests.js';
import { startTestBed, type TestBed } from './test-support/harness.js';

describe('resource pools on a live controller', () => {
  let bed: TestBed;
  const errorOf = <T>(p: Promise<T>) => p.then(() => undefined, (e: unknown) => e as Error & { code: string; field?: string; allowed?: string });
  const create = async (body: Omit<CreateVmRequest, 'image'>) => {
    const r = await bed.client.call('createVm', { body: { ...body, image: 'tiny' } });
    await bed.client.waitJob(r.job.id, undefined, 20);
  };
  const pool = (name: string) => bed.client.call('getResourcePool', { params: { name } });

  beforeAll(async () => {
    bed = await startTestBed();
    bed.agent.converge();
  });
  afterAll(async () => {
    await bed?.stop();
  });

  it('creates pools, one level deep, and refuses what does not fit, naming the field', async () => {
    const gold = await bed.client.call('createResourcePool', { body: { name: 'gold', cpu: { reservationCores: 1, limitCores: 4, shares: 'high' }, memory: { reservationMiB: 1024, limitMiB: 1536 } } });
    expect(gold).toMatchObject({ name: 'gold', use: { cpus: 0, memoryMiB: 0 }, held: { cpus: 1, memoryMiB: 1024 }, vms: [], children: [] });
    await bed.client.call('createResourcePool', { body: { name: 'web', parent: 'gold', memory: { reservationMiB: 512 } } });
    expect((await pool('gold')).children).toEqual(['web']);
    const bad: Array<[object, string, RegExp]> = [
      [{ name: 'x', cpu: { reservationCores: 3, limitCores: 2 } }, 'cpu.reservationCores', /above the CPU limit/],
      [{ name: 'x', memory: { reservationMiB: 4000 } }, 'memory.reservationMiB', /more than the 4096 MiB the Ready hosts have/],
      [{ name: 'x', parent: 'web' }, 'parent', /one level/],
      [{ name: 'x', parent: 'nope' }, 'parent', /no resource pool named "nope"/],
      [{ name: 'x', parent: 'gold', memory: { reservationMiB: 600 } }, 'memory.reservationMiB', /at most 512 MiB/],
    ];
    for (const [body, field, message] of bad) {
      const err = await errorOf(bed.client.call('createResourcePool', { body: body as never }));
      expect(err, JSON.stringify(body)).toMatchObject({ code: 'conflict', field });
      expect(err?.message).toMatch(message);
    }
    expect((await bed.client.call('listResourcePools')).map((p) => p.name)).toEqual(['gold', 'web']);
  });

  it('admits VMs within the pool limit and keeps the other pools\' reservations', async () => {
    await create({ name: 'g1', memoryMiB: 1024, resourcePool: 'gold' });
    const over = await errorOf(create({ name: 'g2', memoryMiB: 768, resourcePool: 'gold' }));
    expect(over).toMatchObject({ code: 'conflict', field: 'resourcePool' });
    expect(over?.message).toMatch(/memory limit of resource pool gold \(1536 MiB\)/);
    // 3072 MiB free; gold keeps 512 unused (web's reservation): an outside VM may take 2560, not more.
    await create({ name: 'free1', memoryMiB: 2560 });
    const short = await errorOf(create({ name: 'free2', memoryMiB: 256 }));
    expect(short?.message).toMatch(/less than the 512 MiB that resource pools reserve and do not use \(gold 512 MiB\)/);
    // A VM of web uses web's own reservation.
    await create({ name: 'w1', memoryMiB: 256, resourcePool: 'web' });
    expect(await pool('gold')).toMatchObject({ use: { cpus: 2, memoryMiB: 1280 }, held: { memoryMiB: 1536 }, vms: ['g1'] });
    expect((await bed.client.call('listVms')).map((v) => v.name).sort()).toEqual(['free1', 'g1', 'w1']);
    // gold has CPU shares (high = weight 200): its VMs' assignments carry the pool group; web has none.
    const a = (await bed.agent.assignments()).vms;
    expect(a.find((v) => v.name === 'g1')?.resourcePool).toEqual({ name: 'gold', cpuWeight: 200 });
    expect(a.find((v) => v.name === 'w1')).not.toHaveProperty('resourcePool');
  });

  it('checks starts, grows and pool changes, and refuses deleting a pool in use', async () => {
    const grow = await errorOf(bed.client.call('resizeVm', { params: { name: 'free1' }, body: { memoryMiB: 2816 } }));
    expect(grow).toMatchObject({ field: 'resourcePool', message: expect.stringMatching(/growing VM free1/) });
    const move = await errorOf(bed.client.call('updateVm', { params: { name: 'w1' }, body: { resourcePool: null } }));
    expect(move?.message).toMatch(/moving VM w1 \(1 vCPU, 256 MiB\) out of its resource pool/);
    expect(await errorOf(bed.client.call('updateVm', { params: { name: 'w1' }, body: { resourcePool: 'nope' } }))).toMatchObject({ code: 'not_found', field: 'resourcePool' });
    expect(await errorOf(bed.client.call('deleteResourcePool', { params: { name: 'web' } }))).toMatchObject({ code: 'conflict', message: expect.stringMatching(/has VMs \(w1\)/) });
    expect(await errorOf(bed.client.call('deleteResourcePool', { params: { name: 'gold' } }))).toMatchObject({ message: expect.stringMatching(/child pools \(web\)/) });
    const stop = await bed.client.call('stopVm', { params: { name: 'w1' }, body: {} });
    await bed.client.waitJob(stop.job.id, undefined, 20);
    expect((await bed.client.call('updateVm', { params: { name: 'w1' }, body: { resourcePool: null } })).spec).not.toHaveProperty('resourcePool');
    const start = await errorOf(bed.client.call('startVm', { params: { name: 'w1' }, body: {} }));
    expect(start?.message).toMatch(/starting VM w1 \(1 vCPU, 256 MiB\) would leave 256 MiB of memory free/);
    expect((await bed.client.call('updateVm', { params: { name: 'w1' }, body: { resourcePool: 'web' } })).spec.resourcePool).toBe('web');
    const started = await bed.client.call('startVm', { params: { name: 'w1' }, body: {} });
    await bed.client.waitJob(started.job.id, undefined, 20);
  });

  it('changes and removes settings, with pool admission', async () => {
    const raised = await bed.client.call('updateResourcePool', { params: { name: 'gold' }, body: { memory: { limitMiB: 2048 }, remove: ['cpu.shares'] } });
    expect(raised.memory).toEqual({ reservationMiB: 1024, limitMiB: 2048 });
    expect(raised.cpu).toEqual({ reservationCores: 1, limitCores: 4 });
    expect(await errorOf(bed.client.call('updateResourcePool', { params: { name: 'gold' }, body: { memory: { reservationMiB: 256 } } }))).toMatchObject({ field: 'memory.reservationMiB', allowed: 'at least 512 MiB' });
    expect(await errorOf(bed.client.call('updateResourcePool', { params: { name: 'gold' }, body: {} }))).toMatchObject({ code: 'invalid' });
  });

  it('puts the pools and each VM\'s pool in the planner snapshot', async () => {
    const s = await bed.client.call('getSnapshot');
    expect(s.pools).toEqual([{ id: 'gold', cpu: { reservationCores: 1, limitCores: 4 }, memory: { reservationMiB: 1024, limitMiB: 2048 } }, { id: 'web', parent: 'gold', memory: { reservationMiB: 512 } }]);
    expect(s.vms.find((v) => v.name === 'w1')?.pool).toBe('web');
    expect(s.vms.find((v) => v.name === 'free1')).not.toHaveProperty('pool');
  });
});
