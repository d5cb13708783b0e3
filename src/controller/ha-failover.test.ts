// HA failover against a real controller (real SQLite store, real HTTP API)
// and fake agents that heartbeat, with lease records the test writes into a
// temp shared pool (I/O timeout 200 ms: suspicion after 600 ms of silence,
// expiry after 1300 ms unchanged; leases renewed every 50 ms, heartbeats
// every 100 ms, so a busy test machine does not look like a dead host). One scenario, in order: a silent host whose
// lease keeps changing is left alone, and so is one without a lease; a dead
// host's HA VMs run again elsewhere with a higher epoch, by priority, while
// a non-HA VM stays and a VM that fits nowhere is reported; the host comes
// back, is handed 'released' for the moved VMs and is Ready only once they
// are gone. Then: HA admission.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CreateVmRequest } from '../api/requests.js';
import type { DroverEvent } from '../api/resources.js';
import { FakeAgent, vmReport } from './test-support/fake-agent.js';
import { eventually, startTestBed, type TestBed, joinAgent } from './test-support/harness.js';
import { LeaseWriter, sharedInventory } from './test-support/lease-writer.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('HA failover on a live cluster', () => {
  const pool = mkdtempSync(join(tmpdir(), 'drover-pool-'));
  writeFileSync(join(pool, 'drover-pool-id'), 'pool-1\n');
  let bed: TestBed;
  const agents: Record<string, FakeAgent> = {};
  const leases: Record<string, LeaseWriter> = {};
  const events: DroverEvent[] = [];
  const errorOf = <T>(p: Promise<T>) => p.then(() => undefined, (e: unknown) => e as Error & { code: string; field?: string });
  const create = async (body: Partial<CreateVmRequest> & { name: string }) => {
    const { vm, job } = await bed.client.call('createVm', { body: { image: 'tiny', storage: 'shared', ...body } });
    await bed.client.waitJob(job.id, undefined, 20);
    return vm;
  };
  const getVm = (name: string) => bed.client.call('getVm', { params: { name } });
  const host = async (name: string) => (await bed.client.call('listHosts')).find((h) => h.name === name)!;
  const idOf = async (name: string) => (await host(name)).id;
  const alive = (a: FakeAgent) => {
    a.converge();
    a.heartbeat(100);
  };
  const addHost = async (name: string, withLease = true) => {
    const a = name === 'h1' ? bed.agent : new FakeAgent(bed.ctl.url);
    if (a !== bed.agent) await a.start();
    a.inventory = sharedInventory(pool);
    await a.join(bed.ctl.secrets.joinToken, name);
    alive(a);
    agents[name] = a;
    if (withLease) leases[name] = new LeaseWriter(pool, a.hostId).start(50);
  };

  beforeAll(async () => {
    bed = await startTestBed({ join: false, options: { sharedPoolDir: pool, haIoTimeoutMs: 200, timeouts: { startMs: 10_000 } } });
    bed.ctl.ctx.state.events.subscribe((e) => events.push(e));
    for (const name of ['h1', 'h2', 'h3']) await addHost(name);
    await addHost('h4', false);
    // Fillers: h2..h4 keep 2896 MiB free, too little for `big` (3000 MiB) later.
    for (const h of ['h2', 'h3', 'h4']) await create({ name: `fill-${h}`, host: h, memoryMiB: 1200, storage: 'local' });
    await create({ name: 'iso', host: 'h3', ha: true });
    await create({ name: 'nolease', host: 'h4', ha: true });
    await create({ name: 'web', host: 'h1', ha: true, haPriority: 10 });
    await create({ name: 'db', host: 'h1', ha: true, haPriority: 50 });
    await create({ name: 'big', host: 'h1', ha: true, memoryMiB: 3000 });
    await create({ name: 'loc', host: 'h1', ha: true, storage: 'local' });
    await create({ name: 'plain', host: 'h1' });
  }, 60_000);
  afterAll(async () => {
    for (const l of Object.values(leases)) l.stop();
    for (const [name, a] of Object.entries(agents)) if (name !== 'h1') await a.stop();
    await bed?.stop();
    rmSync(pool, { recursive: true, force: true });
  });

  it('shows failover on, with its timing, and every live host alive', async () => {
    const p = await bed.client.call('getPool');
    expect(p.ha).toMatchObject({ failover: true, ioTimeoutMs: 200, heartbeatSuspectMs: 600, expireAfterMs: 1300, failures: 1, admission: { holds: true } });
    await eventually(async () => (await bed.client.call('listHosts')).every((h) => h.ha?.verdict === 'alive'), 'every host alive');
  });

  it('leaves a silent host alone while its lease changes (isolated), and one whose lease it never saw (no-lease)', async () => {
    const iso = await getVm('iso');
    const from = events.length;
    agents.h3!.silence();
    agents.h4!.silence();
    await eventually(async () => (await host('h3')).ha?.verdict === 'isolated' && (await host('h4')).ha?.verdict === 'no-lease', 'h3 isolated and h4 no-lease', 5000);
    await sleep(2600); // twice the expiry: nothing happens
    const [h3, h4] = [await host('h3'), await host('h4')];
    expect([h3.state, h4.state]).toEqual(['Ready', 'Ready']);
    expect(await getVm('iso')).toMatchObject({ hostId: h3.id, epoch: iso.epoch });
    expect((await bed.client.call('listJobs')).filter((j) => j.kind === 'ha.failover')).toEqual([]);
    expect(h4.ha).toMatchObject({ verdict: 'no-lease', reason: expect.stringMatching(/no lease record of it was seen.*not declared dead/) });
    const isolated = await eventually(async () => {
      const h = await host('h3');
      return h.ha?.verdict === 'isolated' ? h.ha : undefined;
    }, 'h3 isolated');
    expect(isolated.reason).toMatch(/lease is still renewed.*not dead/);
    expect(events.slice(from).filter((e) => e.kind === 'host.ha' && e.resource === 'h3').map((e) => e.message)).toContainEqual(expect.stringMatching(/^host h3: isolated \(silent for .*not dead/));
    alive(agents.h3!);
    alive(agents.h4!);
    await eventually(async () => (await bed.client.call('listHosts')).every((h) => h.ha?.verdict === 'alive'), 'h3 and h4 alive again');
  });

  it('restarts the HA VMs of a dead host elsewhere, by priority, with a new epoch; the rest stays and says why', async () => {
    const before = Object.fromEntries(await Promise.all(['web', 'db', 'big', 'loc', 'plain'].map(async (n) => [n, await getVm(n)] as const)));
    const h1 = await idOf('h1');
    agents.h1!.silence();
    leases.h1!.stop();
    const fenced = await eventually(async () => {
      const h = await host('h1');
      return h.state === 'Fenced' ? h : undefined;
    }, 'h1 Fenced', 10_000);
    expect(fenced).toMatchObject({ failedAt: expect.any(String), failoverJobId: expect.any(String), ha: { verdict: 'fenced' } });
    const err = await errorOf(bed.client.waitJob(fenced.failoverJobId!, undefined, 20));
    expect(err).toMatchObject({ code: 'unavailable', message: expect.stringMatching(/2 of 4 HA VM\(s\) of host h1 could not be restarted/) });

    for (const name of ['db', 'web']) {
      const vm = await eventually(async () => {
        const v = await getVm(name);
        return v.phase === 'Running' && v.hostId !== h1 ? v : undefined;
      }, `${name} running elsewhere`);
      expect(vm.epoch).toBe(before[name]!.epoch + 1);
      expect(vm.reason).toBeUndefined();
    }
    const restarted = events.filter((e) => e.kind === 'vm.failover').map((e) => e.message);
    const at = (name: string) => restarted.findIndex((m) => m.startsWith(`${name}: `));
    expect(restarted[at('db')]).toMatch(/^db: restarted on h\d \(epoch \d+\) after host h1 failed$/);
    expect(restarted[at('web')]).toMatch(/^web: restarted on h\d/);
    expect(at('db')).toBeLessThan(at('web')); // priority 50 before 10
    expect(at('web')).toBeLessThan(at('big'));
    expect(restarted).toHaveLength(4);
    expect(restarted.find((m) => m.startsWith('big:'))).toMatch(/^big: not restarted after host h1 failed: no host can take it: .*(memory|MiB)/);
    expect(restarted.find((m) => m.startsWith('loc:'))).toMatch(/storage local/);

    expect(await getVm('big')).toMatchObject({ hostId: h1, epoch: before.big!.epoch, reason: expect.stringMatching(/^host-down: host h1 failed; not restarted elsewhere: no host can take it/) });
    expect(await getVm('loc')).toMatchObject({ hostId: h1, reason: expect.stringMatching(/^host-down: .*storage local/) });
    expect(await getVm('plain')).toMatchObject({ hostId: h1, epoch: before.plain!.epoch, reason: expect.stringMatching(/^host-down: host h1 failed; not HA/) });

    const job = await bed.client.call('getJob', { params: { id: fenced.failoverJobId! } });
    const lines = job.progress?.message?.split('; ') ?? [];
    expect(lines[0]).toMatch(/^db: restarted on h\d \(epoch \d+\), running on h\d$/);
    expect(lines[1]).toMatch(/^web: restarted on/);
    expect(lines.find((l) => l.startsWith('big: '))).toMatch(/^big: not restarted, no host can take it/);
    expect(events.filter((e) => e.kind === 'ha.failover').map((e) => e.message)).toEqual([
      expect.stringMatching(/^failover of host h1 started: silent for .* lease unchanged .*; restarting 3 HA VM\(s\) elsewhere, by priority: db, web, big; cannot be restarted: loc \(/),
      expect.stringMatching(/^failover of host h1 finished: db: restarted/),
    ]);
  });

  it('hands a returning host "released" for the VMs that moved, and makes it Ready only once they are gone', async () => {
    const h1 = agents.h1!;
    const [web, db, plain] = [await getVm('web'), await getVm('db'), await getVm('plain')];
    // Back with stale QEMUs of web and db still running (old epochs), as a host that was not really dead would be.
    const stale = (v: typeof web, epoch: number) => vmReport({ id: v.id, name: v.name, spec: v.spec, power: 'running', epoch, rebootSeq: 0, forceStop: false }, 'running', { pid: 999 });
    leases.h1!.start(50);
    await h1.report([stale(web, web.epoch - 1), stale(db, db.epoch - 1), stale(plain, plain.epoch)]);
    h1.heartbeat(100); // repeats the last report
    expect((await host('h1')).state).toBe('Recovering');
    const a = await h1.assignments();
    const power = Object.fromEntries(a.vms.map((v) => [v.name, v.power]));
    expect(power).toMatchObject({ web: 'released', db: 'released', plain: 'running', big: 'running' });
    // Still listed: not Ready yet, whatever else it reports.
    await h1.report([stale(db, db.epoch - 1), stale(plain, plain.epoch)]);
    expect((await host('h1')).state).toBe('Recovering');
    await h1.report([stale(plain, plain.epoch)]);
    expect((await host('h1')).state).toBe('Ready');
    // The moved VMs are untouched by h1's reports; plain runs as before and no longer says host-down.
    expect(await getVm('web')).toMatchObject({ hostId: web.hostId, epoch: web.epoch, phase: 'Running' });
    expect(await getVm('plain')).toMatchObject({ hostId: plain.hostId, epoch: plain.epoch, phase: 'Running' });
    expect((await getVm('plain')).reason).toBeUndefined();
    expect((await h1.assignments()).vms.map((v) => v.name).sort()).toEqual(['big', 'loc', 'plain']);
    alive(h1);
    expect(events.filter((e) => e.kind === 'host.state' && e.resource === 'h1').map((e) => e.message).slice(-3)).toEqual(['host h1: Ready -> Fenced', 'host h1: Fenced -> Recovering', 'host h1: Recovering -> Ready']);
  });
});

describe('HA admission', () => {
  // Two hosts of 4096 MiB, F = 1: the HA VMs of either host must fit in the spare memory of the other.
  let bed: TestBed;
  let h2: FakeAgent;
  const errorOf = <T>(p: Promise<T>) => p.then(() => undefined, (e: unknown) => e as Error & { code: string; field?: string });
  const create = async (body: Partial<CreateVmRequest> & { name: string }) => {
    const { vm, job } = await bed.client.call('createVm', { body: { image: 'tiny', ...body } });
    await bed.client.waitJob(job.id, undefined, 20);
    return vm;
  };
  beforeAll(async () => {
    bed = await startTestBed();
    bed.agent.converge();
    h2 = await joinAgent(bed, 'h2');
    await h2.report();
    h2.converge();
    await create({ name: 'a', host: 'h1', ha: true, memoryMiB: 2048 });
    await create({ name: 'p', host: 'h1', memoryMiB: 1024 });
    await create({ name: 'fill', host: 'h2', memoryMiB: 1536 });
  }, 30_000);
  afterAll(async () => {
    await h2?.stop();
    await bed?.stop();
  });

  it('holds now: h1\'s 2048 MiB of HA VMs fit in h2\'s 2560 MiB spare', async () => {
    expect((await bed.client.call('getPool')).ha).toEqual({ failover: false, reason: expect.stringMatching(/without --shared-pool/), failures: 1, admission: { holds: true, spareMemoryMiB: 512, spareCpus: expect.any(Number) } });
  });

  it('refuses an HA VM that fits but would leave too little room for a host failure, changes nothing, and says how to fix it', async () => {
    const before = (await bed.client.call('listVms')).length;
    const err = await errorOf(create({ name: 'c', ha: true, memoryMiB: 1024 }));
    expect(err).toMatchObject({ code: 'conflict', field: 'ha', message: expect.stringMatching(/^HA admission refuses it: no host can take the VM and keep that room \(.*would leave too little spare capacity to restart the HA VMs of any 1 failed host.*\); the cluster keeps room to restart the HA VMs of any 1 failed host\(s\) \(automation setting haFailures = 1\)\. Add hosts, free memory, or lower it: drover automation set --ha-failures N$/) });
    expect((await bed.client.call('listVms')).length).toBe(before);
  });

  it('refuses turning a VM HA when that breaks it; the VM stays as it was', async () => {
    const err = await errorOf(bed.client.call('updateVm', { params: { name: 'p' }, body: { ha: true } }));
    expect(err).toMatchObject({ code: 'conflict', field: 'ha', message: expect.stringMatching(/^HA admission refuses it: as an HA VM p would leave the Ready hosts short by 512 MiB of memory to restart/) });
    expect((await bed.client.call('getVm', { params: { name: 'p' } })).spec.ha).toBe(false);
  });

  it('admits a plain VM of the same size (admission is for HA VMs), and then says admission is broken', async () => {
    await create({ name: 'd', memoryMiB: 1024 });
    expect((await bed.client.call('getPool')).ha?.admission).toMatchObject({ holds: false, spareMemoryMiB: -512 });
  });

  it('F = 0 turns admission off; F comes back with the setting', async () => {
    await bed.client.call('setAutomation', { body: { haFailures: 0 } });
    expect((await bed.client.call('updateVm', { params: { name: 'p' }, body: { ha: true } })).spec.ha).toBe(true);
    expect((await bed.client.call('getPool')).ha).toMatchObject({ failures: 0, admission: { holds: true } });
    await bed.client.call('setAutomation', { body: { haFailures: 1 } });
    expect((await bed.client.call('getPool')).ha).toMatchObject({ failures: 1, admission: { holds: false } });
  });
});
