// GET /v1/pool and the usage of GET /v1/hosts, against a real controller and
// fake agents: the numbers follow VM creation, stop and a second host.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HostsByState } from '../api/pool.js';
import { HOST_STATES } from '../api/resources.js';
import { setHostState } from './job-kinds/host-maintenance.js';
import { FakeAgent, INVENTORY } from './test-support/fake-agent.js';
import { startTestBed, type TestBed, joinAgent } from './test-support/harness.js';

/** Stops the agent converging and lets its last long poll (1 s) and report end, so nothing flips the host back to Ready. */
const quiet = async (agent: FakeAgent) => {
  agent.stopConverging();
  await new Promise((r) => setTimeout(r, 1500));
};

describe('pool capacity and host usage', () => {
  let bed: TestBed;
  let second: FakeAgent | undefined;
  const wait = async (r: Promise<{ job: { id: string } }>) => bed.client.waitJob((await r).job.id, undefined, 20);

  beforeAll(async () => {
    bed = await startTestBed();
    bed.agent.converge();
  });
  afterAll(async () => {
    await second?.stop();
    await bed?.stop();
  });

  it('lists every host state in byState', () => {
    expect(Object.keys(HostsByState.properties)).toEqual([...HOST_STATES]);
  });

  it('shows an idle Ready host: all of it free', async () => {
    const pool = await bed.client.call('getPool');
    expect(pool).toEqual({
      hosts: { total: 1, schedulable: 1, byState: { Joining: 0, Ready: 1, Unreachable: 0, Maintenance: 0, Standby: 0, Left: 0, Fenced: 0, Recovering: 0 } },
      cpus: { total: INVENTORY.cpus, reserved: 0, used: 0, free: INVENTORY.cpus },
      memoryMiB: { total: INVENTORY.memoryMiB, reserved: 0, used: 0, free: INVENTORY.memoryMiB },
      vms: { total: 0, active: 0, activeOutsidePool: 0 },
      // No --shared-pool: failover is off. One Ready host: room for F = 1 failure holds with nothing to spare.
      ha: { failover: false, reason: expect.stringMatching(/without --shared-pool/), failures: 1, admission: { holds: true, spareMemoryMiB: 0, spareCpus: 0 } },
    });
    expect((await bed.client.call('listHosts'))[0]?.ha).toMatchObject({ verdict: 'off', reason: expect.stringMatching(/HA failover is off/) });
    expect((await bed.client.call('listHosts'))[0]?.usage).toEqual({ cpus: 0, memoryMiB: 0, vms: 0, activeVms: 0 });
  });

  it('counts a running VM on its host and in the pool; a stopped one only as placed', async () => {
    await wait(bed.client.call('createVm', { body: { name: 'p1', image: 'tiny', cpus: 2, memoryMiB: 512 } }));
    const pool = await bed.client.call('getPool');
    expect(pool.cpus).toEqual({ total: 2, reserved: 0, used: 2, free: 0 });
    expect(pool.memoryMiB).toEqual({ total: 4096, reserved: 0, used: 512, free: 3584 });
    expect(pool.vms).toEqual({ total: 1, active: 1, activeOutsidePool: 0 });
    expect((await bed.client.call('listHosts'))[0]?.usage).toEqual({ cpus: 2, memoryMiB: 512, vms: 1, activeVms: 1 });

    await wait(bed.client.call('stopVm', { params: { name: 'p1' }, body: { force: true } }));
    expect((await bed.client.call('getPool')).memoryMiB.used).toBe(0);
    expect((await bed.client.call('listHosts'))[0]?.usage).toEqual({ cpus: 0, memoryMiB: 0, vms: 1, activeVms: 0 });
  });

  it('adds a host to the totals once it is Ready, not while it is Joining', async () => {
    second = await joinAgent(bed, 'h2');
    let pool = await bed.client.call('getPool');
    expect(pool.hosts).toMatchObject({ total: 2, schedulable: 1, byState: { Joining: 1, Ready: 1 } });
    expect(pool.memoryMiB.total).toBe(INVENTORY.memoryMiB);
    await second.report();
    pool = await bed.client.call('getPool');
    expect(pool.hosts).toMatchObject({ total: 2, schedulable: 2, byState: { Joining: 0, Ready: 2 } });
    expect(pool.cpus).toEqual({ total: 4, reserved: 0, used: 0, free: 4 });
    expect(pool.memoryMiB.total).toBe(2 * INVENTORY.memoryMiB);
  });

  it('leaves hosts in Maintenance out of the totals, and counts VMs on hosts that are not Ready apart', async () => {
    await wait(bed.client.call('startVm', { params: { name: 'p1' }, body: {} }));
    await bed.client.waitJob((await bed.client.call('hostMaintenance', { params: { name: 'h2' }, body: {} })).id, undefined, 20);
    let pool = await bed.client.call('getPool');
    expect(pool.hosts.byState).toMatchObject({ Ready: 1, Maintenance: 1 });
    expect(pool.cpus).toEqual({ total: 2, reserved: 0, used: 2, free: 0 });
    expect(pool.vms).toEqual({ total: 1, active: 1, activeOutsidePool: 0 });

    await quiet(bed.agent);
    await setHostState(bed.ctl.ctx.state, bed.agent.hostId, 'Unreachable');
    pool = await bed.client.call('getPool');
    expect(pool.hosts).toMatchObject({ total: 2, schedulable: 0, byState: { Ready: 0, Unreachable: 1, Maintenance: 1 } });
    expect(pool.cpus).toEqual({ total: 0, reserved: 0, used: 0, free: 0 });
    expect(pool.vms).toEqual({ total: 1, active: 1, activeOutsidePool: 1 });
    expect((await bed.client.call('listHosts')).find((h) => h.name === 'h1')?.usage).toEqual({ cpus: 2, memoryMiB: 512, vms: 1, activeVms: 1 });
  });
});
