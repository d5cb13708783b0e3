// Host reservations (agent --reserve-cpus, --reserve-memory) against a real
// controller and fake agents: the inventory carries them, and the pool's
// totals, placement, migration targets, the planner snapshot and HA
// admission count every host's capacity as total minus reserved minus used.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { HostInventory } from '../api/resources.js';
import { FakeAgent, INVENTORY } from './test-support/fake-agent.js';
import { joinAgent, startTestBed, type TestBed } from './test-support/harness.js';

/** 2 CPUs and 4096 MiB (INVENTORY), of which 1 CPU and 1024 MiB are held back for the host. */
const RESERVED: HostInventory = { ...INVENTORY, reservedCpus: 1, reservedMemoryMiB: 1024 };

const errorOf = (p: Promise<unknown>) => p.then(() => undefined, (e: unknown) => e as Error & { code?: string; field?: string });

describe('host reservations on one host', () => {
  let bed: TestBed;
  const vmNames = async () => (await bed.client.call('listVms')).map((v) => v.name);

  beforeAll(async () => {
    bed = await startTestBed({ join: false });
    bed.agent.inventory = RESERVED;
    await bed.agent.join(bed.ctl.secrets.joinToken);
    await bed.agent.report();
    bed.agent.converge();
  });
  afterAll(async () => {
    await bed?.stop();
  });

  it('keeps the reservation the agent reports in the host\'s inventory and in the planner snapshot', async () => {
    expect((await bed.client.call('listHosts'))[0]?.inventory).toMatchObject({ cpus: 2, memoryMiB: 4096, reservedCpus: 1, reservedMemoryMiB: 1024 });
    expect((await bed.client.call('getSnapshot')).hosts).toEqual([{ id: bed.agent.hostId, name: 'h1', cpus: 2, memoryMiB: 4096, reservedCpus: 1, reservedMemoryMiB: 1024, state: 'ready' }]);
  });

  it('counts it in the pool: free is total minus reserved minus used', async () => {
    const pool = await bed.client.call('getPool');
    expect(pool.cpus).toEqual({ total: 2, reserved: 1, used: 0, free: 1 });
    expect(pool.memoryMiB).toEqual({ total: 4096, reserved: 1024, used: 0, free: 3072 });
  });

  it('refuses a VM that fits only when the memory reservation is ignored, saying why, and changes nothing', async () => {
    const err = await errorOf(bed.client.call('createVm', { body: { name: 'big', image: 'tiny', memoryMiB: 3584 } }));
    expect(err).toMatchObject({ code: 'unavailable', field: 'memoryMiB' });
    expect(err?.message).toMatch(/needs 3584 MiB; these hosts have at most 3072 MiB free \(memory overcommit x1; after up to 1024 MiB held back for the hosts themselves\)/);
    expect(await vmNames()).toEqual([]);
  });

  it('refuses vCPUs beyond (CPUs - reserved) x the CPU overcommit', async () => {
    // 2 CPUs x 4 would take 8 vCPUs; with 1 held back, 4.
    const err = await errorOf(bed.client.call('createVm', { body: { name: 'wide', image: 'tiny', cpus: 5 } }));
    expect(err).toMatchObject({ code: 'unavailable', field: 'cpus' });
    expect(err?.message).toMatch(/needs 5 vCPUs; these hosts have at most 4 free \(CPU overcommit x4; after up to 1 CPU held back for the hosts themselves\)/);
    expect(await vmNames()).toEqual([]);
  });

  it('places a VM that fits after the reservation, and counts it as used', async () => {
    const { job } = await bed.client.call('createVm', { body: { name: 'fits', image: 'tiny', cpus: 4, memoryMiB: 3072 } });
    expect((await bed.client.waitJob(job.id, undefined, 20)).state).toBe('succeeded');
    const pool = await bed.client.call('getPool');
    expect(pool.memoryMiB).toEqual({ total: 4096, reserved: 1024, used: 3072, free: 0 });
    expect(pool.cpus).toEqual({ total: 2, reserved: 1, used: 4, free: 0 });
    const err = await errorOf(bed.client.call('createVm', { body: { name: 'more', image: 'tiny', memoryMiB: 128 } }));
    expect(err).toMatchObject({ code: 'unavailable', field: 'memoryMiB' });
  });
});

describe('host reservations across hosts: migration targets and HA admission', () => {
  let bed: TestBed;
  let h2: FakeAgent | undefined;

  beforeAll(async () => {
    bed = await startTestBed();
    bed.agent.converge();
    h2 = await joinAgent(bed, 'h2');
    h2.inventory = RESERVED;
    await h2.report();
    h2.converge();
  });
  afterAll(async () => {
    await h2?.stop();
    await bed?.stop();
  });

  it('leaves the reserved room out of what HA admission has to spare', async () => {
    // Room for F = 1 failed host: the spare of all Ready hosts minus the largest one's.
    // h1 offers 4096 MiB and 2 x 4 vCPUs, h2 after its reservation 3072 MiB and 1 x 4 (4096 and 8 if it were ignored).
    const pool = await bed.client.call('getPool');
    expect(pool.memoryMiB).toMatchObject({ total: 8192, reserved: 1024, free: 7168 });
    expect(pool.ha?.admission).toEqual({ holds: true, spareMemoryMiB: 3072, spareCpus: 4 });
  });

  it('refuses a migration to a host where the VM fits only when its reservation is ignored', async () => {
    const { job } = await bed.client.call('createVm', { body: { name: 'big', image: 'tiny', memoryMiB: 3584, host: 'h1' } });
    expect((await bed.client.waitJob(job.id, undefined, 20)).state).toBe('succeeded');
    const named = await errorOf(bed.client.call('migrateVm', { params: { name: 'big' }, body: { to: 'h2' } }));
    expect(named).toMatchObject({ code: 'conflict', field: 'to' });
    expect(named?.message).toBe('host h2 cannot take VM big: it has 3072 MiB of memory free (after 1024 MiB held back for the host itself, agent flag --reserve-memory) and the VM needs 3584 MiB');
    const placed = await errorOf(bed.client.call('migrateVm', { params: { name: 'big' }, body: {} }));
    expect(placed).toMatchObject({ code: 'conflict', field: 'to' });
    expect(placed?.message).toMatch(/no host can take VM big \(.*h2: needs 3584 MiB; these hosts have at most 3072 MiB free .*1024 MiB held back/);
    expect((await bed.client.call('getVm', { params: { name: 'big' } })).migration).toBeUndefined();
  });
});
