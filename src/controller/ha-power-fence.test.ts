// Power fencing against a real controller (real SQLite, real HTTP API), fake
// agents, lease records the test writes, and Redfish BMCs on 127.0.0.1
// (src/host/power/test-support/redfish-bmc.ts) reached by the real Redfish
// driver. I/O timeout 800 ms: a silent host is suspected after 2.4 s and its
// lease expires after 5 s unchanged, so a power off (a few local requests)
// has time to win; leases are renewed every 50 ms, heartbeats every 100 ms.
//
// h1 (BMC that works) and h2 (BMC that refuses) die; h3 takes their HA VMs;
// h4 keeps reporting though its lease stops, h5 goes silent though its
// lease is renewed (isolated): neither may be powered off.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DroverEvent } from '../api/resources.js';
import { powerDriverFactory } from '../host/power/drivers.js';
import { FakeRedfishBmc } from '../host/power/test-support/redfish-bmc.js';
import { FakeAgent } from './test-support/fake-agent.js';
import { eventually, startTestBed, type TestBed } from './test-support/harness.js';
import { LeaseWriter, sharedInventory } from './test-support/lease-writer.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const EXPIRE_MS = 5000; // expireAfterMs at T = 800

describe('power fencing on a live cluster', () => {
  const pool = mkdtempSync(join(tmpdir(), 'drover-pool-'));
  writeFileSync(join(pool, 'drover-pool-id'), 'pool-1\n');
  let bed: TestBed;
  const agents: Record<string, FakeAgent> = {};
  const leases: Record<string, LeaseWriter> = {};
  const bmcs: Record<string, FakeRedfishBmc> = {};
  const events: DroverEvent[] = [];
  const host = async (name: string) => (await bed.client.call('listHosts')).find((h) => h.name === name)!;
  const getVm = (name: string) => bed.client.call('getVm', { params: { name } });
  const fenceEvents = (name: string) => events.filter((e) => e.kind === 'host.power-fence' && e.resource === name);
  const failoverStarted = (name: string) => events.filter((e) => e.kind === 'ha.failover' && e.resource === name && (e.data as { state?: string }).state === 'started').map((e) => e.message);
  const alive = (a: FakeAgent) => {
    a.converge();
    a.heartbeat(100);
  };
  const addHost = async (name: string) => {
    const a = name === 'h1' ? bed.agent : new FakeAgent(bed.ctl.url);
    if (a !== bed.agent) await a.start();
    a.inventory = sharedInventory(pool);
    await a.join(bed.ctl.secrets.joinToken, name);
    alive(a);
    agents[name] = a;
    leases[name] = new LeaseWriter(pool, a.hostId).start(50);
  };
  const withBmc = async (name: string) => {
    const bmc = (bmcs[name] = await new FakeRedfishBmc({ password: `pw-${name}` }).start());
    await bed.client.call('setHostPower', { params: { name }, body: { driver: 'redfish', address: bmc.url, username: bmc.username, password: bmc.password } });
  };
  const fencedHost = (name: string, timeoutMs: number) => eventually(async () => {
    const h = await host(name);
    return h.state === 'Fenced' ? h : undefined;
  }, `${name} Fenced`, timeoutMs);
  const runsElsewhere = (vm: string, from: string) => eventually(async () => {
    const [v, h] = await Promise.all([getVm(vm), host(from)]);
    return v.phase === 'Running' && v.hostId !== h.id ? v : undefined;
  }, `${vm} running elsewhere`);
  const create = async (name: string, hostName: string) => {
    const { job } = await bed.client.call('createVm', { body: { name, image: 'tiny', storage: 'shared', ha: true, host: hostName } });
    await bed.client.waitJob(job.id, undefined, 20);
  };

  beforeAll(async () => {
    bed = await startTestBed({
      join: false,
      options: {
        sharedPoolDir: pool, haIoTimeoutMs: 800, timeouts: { startMs: 10_000 },
        powerDrivers: powerDriverFactory({ timeoutMs: 2000, retries: 1, retryDelayMs: 20 }),
        powerFence: { confirmTimeoutMs: 2000, confirmEveryMs: 50 },
      },
    });
    bed.ctl.ctx.state.events.subscribe((e) => events.push(e));
    await bed.client.call('setAutomation', { body: { haFailures: 0 } });
    for (const name of ['h1', 'h2', 'h3', 'h4', 'h5']) await addHost(name);
    for (const name of ['h1', 'h2', 'h4', 'h5']) await withBmc(name);
    for (const [vm, on] of [['a', 'h1'], ['b', 'h2'], ['d', 'h4'], ['e', 'h5']] as const) await create(vm, on);
    await eventually(async () => (await bed.client.call('listHosts')).every((h) => h.ha?.verdict === 'alive'), 'every host alive');
  }, 60_000);
  afterAll(async () => {
    for (const l of Object.values(leases)) l.stop();
    for (const [name, a] of Object.entries(agents)) if (name !== 'h1') await a.stop();
    await bed?.stop();
    for (const b of Object.values(bmcs)) await b.stop();
    rmSync(pool, { recursive: true, force: true });
  });

  it('powers off a silent host whose lease stopped, and fails it over at once, before its lease could expire', async () => {
    const a = await getVm('a');
    agents.h1!.silence();
    leases.h1!.stop();
    const h1 = await fencedHost('h1', 15_000);
    expect(bmcs.h1!.power.get('1')).toBe('Off');
    expect(bmcs.h1!.resets()).toEqual(['ForceOff']);
    // Declared on the BMC's word while the lease was still short of its expiry.
    expect(h1.ha?.leaseUnchangedMs).toBeLessThan(EXPIRE_MS);
    expect(fenceEvents('h1').map((e) => e.message)).toEqual([
      expect.stringMatching(new RegExp(`^host h1: powering it off through its BMC \\(redfish ${bmcs.h1!.url}\\) to fence it: silent for .* and its lease unchanged for .*`)),
      expect.stringMatching(/^host h1: powered off by its BMC \(redfish .*\), confirmed off after \d+\.\d s: it is declared dead without waiting for its lease to expire$/),
    ]);
    expect(failoverStarted('h1')).toEqual([expect.stringMatching(/^failover of host h1 started: powered off by its BMC \(confirmed off; silent for .*\); restarting 1 HA VM\(s\) elsewhere, by priority: a$/)]);
    expect(events.filter((e) => e.kind === 'host.ha' && e.resource === 'h1').map((e) => e.message)).toContainEqual(expect.stringMatching(/^host h1: dead \(powered off by its BMC/));
    const moved = await runsElsewhere('a', 'h1');
    expect(moved.epoch).toBe(a.epoch + 1);
  });

  it('when the BMC refuses, changes nothing: the host fails over when its lease expires, with one power-fence attempt', async () => {
    bmcs.h2!.refuseResets = 500;
    const b = await getVm('b');
    agents.h2!.silence();
    leases.h2!.stop();
    const h2 = await fencedHost('h2', 20_000);
    expect(h2.ha?.leaseUnchangedMs).toBeGreaterThanOrEqual(EXPIRE_MS);
    expect(bmcs.h2!.power.get('1')).toBe('On');
    expect(bmcs.h2!.resets()).toEqual(['ForceOff', 'ForceOff']); // one attempt: the driver's try and its retry
    expect(fenceEvents('h2').map((e) => e.message)).toEqual([
      expect.stringMatching(/^host h2: powering it off through its BMC/),
      expect.stringMatching(new RegExp(`^host h2: power fencing failed: host h2, BMC redfish ${bmcs.h2!.url}: power off \\(ForceOff\\) failed \\(2 attempts\\): POST .*: HTTP 500: The BMC could not complete the reset\\.; failover waits for its lease to expire, as without a BMC$`)),
    ]);
    expect(failoverStarted('h2')).toEqual([expect.stringMatching(/^failover of host h2 started: silent for .* and its lease unchanged for .*: it has fenced itself; restarting 1 HA VM\(s\) elsewhere, by priority: b$/)]);
    expect((await runsElsewhere('b', 'h2')).epoch).toBe(b.epoch + 1);
  });

  it('never powers off a host that still reports, nor an isolated one whose lease is renewed', async () => {
    leases.h4!.stop(); // h4 keeps reporting
    agents.h5!.silence(); // h5's lease goes on
    await eventually(async () => (await host('h5')).ha?.verdict === 'isolated', 'h5 isolated', 10_000);
    await sleep(EXPIRE_MS + 1500);
    for (const name of ['h4', 'h5']) {
      expect(bmcs[name]!.resets(), name).toEqual([]);
      expect(bmcs[name]!.power.get('1')).toBe('On');
      expect(fenceEvents(name)).toEqual([]);
      expect((await host(name)).state).not.toBe('Fenced');
    }
    expect((await host('h4')).ha?.verdict).toBe('lease-stale');
    expect((await host('h5')).ha?.verdict).toBe('isolated');
    leases.h4!.start(50);
    alive(agents.h5!);
  }, 30_000);

  it('fences a host again after it came back and failed once more (one attempt per failure)', async () => {
    bmcs.h1!.power.set('1', 'On'); // an operator powered it on; it boots and reports
    leases.h1!.start(50);
    alive(agents.h1!);
    await eventually(async () => (await host('h1')).state === 'Ready', 'h1 Ready again', 10_000);
    agents.h1!.silence();
    leases.h1!.stop();
    await eventually(() => fenceEvents('h1').length === 4, 'h1 powered off again', 15_000);
    expect(bmcs.h1!.power.get('1')).toBe('Off');
    expect(bmcs.h1!.resets()).toEqual(['ForceOff', 'ForceOff']);
    expect(fenceEvents('h1').map((e) => e.data)).toEqual([
      expect.objectContaining({ state: 'started' }), expect.objectContaining({ state: 'off' }),
      expect.objectContaining({ state: 'started' }), expect.objectContaining({ state: 'off' }),
    ]);
  });
});
