// Several hosts failing at once, and the retry of HA VMs left on failed
// hosts, against a real controller (real SQLite, real HTTP API), fake agents
// and lease records the test writes (I/O timeout 200 ms: expiry after
// 1300 ms unchanged). The test drives the failover loop's polls itself (every
// 100 ms, its pollMs) so that it can stop two hosts' leases between two
// polls: hosts that stop renewing between the same two polls are judged dead
// in the same poll, and that is what this test is about.
//
// h3 has 1800 MiB free. h1 holds HA VMs a1 (priority 10, 700 MiB), a2
// (1, 700) and a3 (0, 2650); h2 holds b1 (50, 1000) and b2 (5, 800). In one
// order by priority (b1 a1 b2 a2 a3) b1 and a1 fit on h3. A job per host would
// restart a1 and a2 (h1 first) or b1 and b2 (h2 first) instead.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CreateVmRequest } from '../api/requests.js';
import type { DroverEvent } from '../api/resources.js';
import { FakeAgent } from './test-support/fake-agent.js';
import { eventually, startTestBed, type TestBed } from './test-support/harness.js';
import { LeaseWriter, sharedInventory } from './test-support/lease-writer.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Runs the failover loop's polls in place of its own timer; `between` runs something while no lease read is in flight. */
class PollDriver {
  private running = false;
  private pending: Array<() => void> = [];
  constructor(private readonly tick: () => Promise<void>) {}

  start(): void {
    this.running = true;
    void (async () => {
      while (this.running) {
        await this.tick().catch(() => undefined); // the controller closing under it
        await sleep(50); // the poll's lease reads (local files) are back by now
        for (const f of this.pending.splice(0)) f();
        await sleep(50);
      }
    })();
  }

  between(f: () => void): Promise<void> {
    return new Promise((resolve) => this.pending.push(() => {
      f();
      resolve();
    }));
  }

  stop(): void {
    this.running = false;
  }
}

describe('HA failover of several hosts at once, and its retry', () => {
  const pool = mkdtempSync(join(tmpdir(), 'drover-pool-'));
  writeFileSync(join(pool, 'drover-pool-id'), 'pool-1\n');
  let bed: TestBed;
  let polls: PollDriver;
  const agents: Record<string, FakeAgent> = {};
  const leases: Record<string, LeaseWriter> = {};
  const events: DroverEvent[] = [];
  const create = async (body: Partial<CreateVmRequest> & { name: string }) => {
    const { vm, job } = await bed.client.call('createVm', { body: { image: 'tiny', storage: 'shared', ...body } });
    await bed.client.waitJob(job.id, undefined, 20);
    return vm;
  };
  const getVm = (name: string) => bed.client.call('getVm', { params: { name } });
  const host = async (name: string) => (await bed.client.call('listHosts')).find((h) => h.name === name)!;
  const failoverJobs = async () => (await bed.client.call('listJobs')).filter((j) => j.kind === 'ha.failover').sort((a, b) => a.id.localeCompare(b.id));
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
    await eventually(async () => (await host(name)).state === 'Ready', `${name} Ready`);
  };
  const runningOn = async (name: string, hostName: string) => {
    const [v, h] = await Promise.all([getVm(name), host(hostName)]);
    return v.phase === 'Running' && v.hostId === h.id ? v : undefined;
  };

  beforeAll(async () => {
    bed = await startTestBed({ join: false, options: { sharedPoolDir: pool, haIoTimeoutMs: 200, timeouts: { startMs: 10_000 } } });
    bed.ctl.ctx.ha.stop();
    polls = new PollDriver(() => bed.ctl.ctx.ha.tick());
    polls.start();
    bed.ctl.ctx.state.events.subscribe((e) => events.push(e));
    await bed.client.call('setAutomation', { body: { haFailures: 0 } }); // admission off: the test packs the hosts tight
    for (const name of ['h1', 'h2', 'h3']) await addHost(name);
    await create({ name: 'fill', host: 'h3', memoryMiB: 2296, storage: 'local' });
    await create({ name: 'a1', host: 'h1', ha: true, haPriority: 10, memoryMiB: 700 });
    await create({ name: 'a2', host: 'h1', ha: true, haPriority: 1, memoryMiB: 700 });
    await create({ name: 'a3', host: 'h1', ha: true, memoryMiB: 2650 });
    await create({ name: 'b1', host: 'h2', ha: true, haPriority: 50, memoryMiB: 1000 });
    await create({ name: 'b2', host: 'h2', ha: true, haPriority: 5, memoryMiB: 800 });
    await eventually(async () => (await bed.client.call('listHosts')).every((h) => h.ha?.verdict === 'alive'), 'every host alive');
  }, 60_000);
  afterAll(async () => {
    polls?.stop();
    for (const l of Object.values(leases)) l.stop();
    for (const [name, a] of Object.entries(agents)) if (name !== 'h1') await a.stop();
    await bed?.stop();
    rmSync(pool, { recursive: true, force: true });
  });

  it('declares two hosts that died together in one commit with one job, and restarts their HA VMs in one order by priority', async () => {
    await polls.between(() => {
      for (const name of ['h1', 'h2']) {
        agents[name]!.silence();
        leases[name]!.stop();
        leases[name]!.renew(); // the last renewal of both, at the same moment
      }
    });
    const [h1, h2] = await eventually(async () => {
      const all = await bed.client.call('listHosts'); // one read: both or neither, if they were declared together
      const hs = [all.find((h) => h.name === 'h1')!, all.find((h) => h.name === 'h2')!] as const;
      return hs.some((h) => h.state === 'Fenced') ? hs : undefined;
    }, 'h1 or h2 Fenced', 10_000);
    expect([h1.state, h2.state]).toEqual(['Fenced', 'Fenced']);
    expect(h1.failoverJobId).toBe(h2.failoverJobId);
    expect(await failoverJobs()).toHaveLength(1);

    const err = await bed.client.waitJob(h1.failoverJobId!, undefined, 20).then(() => undefined, (e: unknown) => e as Error & { code: string });
    expect(err).toMatchObject({ code: 'unavailable', message: expect.stringMatching(/^3 of 5 HA VM\(s\) of hosts h1, h2 could not be restarted: /) });
    for (const name of ['b1', 'a1']) {
      const vm = await eventually(() => runningOn(name, 'h3'), `${name} running on h3`);
      expect(vm.epoch).toBe(2);
    }
    const [a1, a2, a3, b2] = [await getVm('a1'), await getVm('a2'), await getVm('a3'), await getVm('b2')];
    expect(a1.reason).toBeUndefined();
    expect(b2).toMatchObject({ hostId: h2.id, epoch: 1, reason: expect.stringMatching(/^host-down: host h2 failed; not restarted elsewhere: no host can take it/) });
    expect(a2).toMatchObject({ hostId: h1.id, epoch: 1, reason: expect.stringMatching(/^host-down: host h1 failed; not restarted elsewhere: no host can take it/) });
    expect(a3).toMatchObject({ hostId: h1.id, reason: expect.stringMatching(/^host-down: host h1 failed;/) });

    const job = await bed.client.call('getJob', { params: { id: h1.failoverJobId! } });
    expect(job.target).toBe('h1, h2');
    expect(job.progress?.message?.split('; ')).toEqual([
      expect.stringMatching(/^b1 \(from h2\): restarted on h3 \(epoch 2\), running on h3$/),
      expect.stringMatching(/^a1 \(from h1\): restarted on h3 \(epoch 2\), running on h3$/),
      expect.stringMatching(/^b2 \(from h2\): not restarted, no host can take it/),
      expect.stringMatching(/^a2 \(from h1\): not restarted, no host can take it/),
      expect.stringMatching(/^a3 \(from h1\): not restarted, no host can take it/),
    ]);
    const failover = events.filter((e) => e.kind === 'vm.failover').map((e) => e.message);
    expect(failover).toEqual([
      expect.stringMatching(/^b1: restarted on h3 \(epoch 2\) after host h2 failed$/),
      expect.stringMatching(/^a1: restarted on h3 \(epoch 2\) after host h1 failed$/),
      expect.stringMatching(/^b2: not restarted after host h2 failed: no host can take it/),
      expect.stringMatching(/^a2: not restarted after host h1 failed: no host can take it/),
      expect.stringMatching(/^a3: not restarted after host h1 failed: no host can take it/),
    ]);
    expect(events.filter((e) => e.kind === 'ha.failover').map((e) => e.message)).toEqual([
      expect.stringMatching(/^failover of hosts h1, h2 started: declared dead in the same poll, one restart order for all: h1 \(silent .*\), h2 \(silent .*\); restarting 5 HA VM\(s\) elsewhere, by priority: b1 \(h2\), a1 \(h1\), b2 \(h2\), a2 \(h1\), a3 \(h1\)$/),
      expect.stringMatching(/^failover of hosts h1, h2 finished: b1 \(from h2\): restarted/),
    ]);
  });

  it('does not try again while nothing changed that could give room', async () => {
    await sleep(1500); // nearly 4 looks of the retry (every 4 polls)
    expect(await failoverJobs()).toHaveLength(1);
    expect(events.filter((e) => e.kind === 'ha.retry')).toEqual([]);
  });

  it('retries when a failed host is Ready again: the room it brings takes what fits, its own VMs stay with it', async () => {
    const b2 = await getVm('b2');
    leases.h2!.start(50);
    alive(agents.h2!);
    await eventually(async () => (await host('h2')).state === 'Ready', 'h2 Ready');
    const a2 = await eventually(() => runningOn('a2', 'h2'), 'a2 restarted on h2', 10_000);
    expect(a2.epoch).toBe(2);
    const retries = await eventually(async () => {
      const jobs = (await failoverJobs()).slice(1);
      return jobs.length > 0 && jobs.every((j) => j.state !== 'running') ? jobs : undefined;
    }, 'the retry ended');
    expect(retries).toHaveLength(1);
    expect(retries[0]).toMatchObject({ state: 'failed', target: 'h1', error: { message: expect.stringMatching(/^1 of 2 HA VM\(s\) of host h1 could not be restarted: a2: restarted on h2 .*; a3: not restarted, no host can take it/) } });
    expect(events.filter((e) => e.kind === 'ha.retry').map((e) => e.message)).toEqual([
      'retrying the failover of 2 HA VM(s) left on failed host h1, by priority: a2, a3; room may have appeared: the Ready hosts changed (now h2, h3)',
    ]);
    // b2 was never moved: it is h2's again, same epoch, no host-down reason.
    expect(await getVm('b2')).toMatchObject({ hostId: b2.hostId, epoch: b2.epoch, phase: 'Running' });
    expect((await getVm('b2')).reason).toBeUndefined();
    expect(await getVm('a3')).toMatchObject({ hostId: (await host('h1')).id, epoch: 1 });
  });

  it('retries when a VM is deleted, and then stops: nothing is left', async () => {
    const { job } = await bed.client.call('deleteVm', { params: { name: 'b2' } });
    await bed.client.waitJob(job.id, undefined, 20);
    const a3 = await eventually(() => runningOn('a3', 'h2'), 'a3 restarted on h2', 10_000);
    expect(a3.epoch).toBe(2);
    const retries = events.filter((e) => e.kind === 'ha.retry').map((e) => e.message);
    expect(retries).toHaveLength(2);
    expect(retries[1]).toMatch(/^retrying the failover of 1 HA VM\(s\) left on failed host h1, by priority: a3; room may have appeared: memory or vCPUs in use on the Ready hosts changed(; the number of VMs changed \(6 -> 5\))?$/);
    const last = (await failoverJobs()).at(-1)!;
    expect(await bed.client.waitJob(last.id, undefined, 20)).toMatchObject({ state: 'succeeded' });
    await sleep(1000);
    expect(await failoverJobs()).toHaveLength(3);
  });
});
