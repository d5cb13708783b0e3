// HA fault cases on the namespace testbed (root only), with real agents,
// fencers and a bridged HA guest that keeps writing an increasing counter to
// its data disk: a host cut from the controller while it still reaches the
// shared storage is isolated, not dead (its VM is never restarted
// elsewhere); short link flaps cause no failover; a host cut from the
// storage only fences itself, and only then does its VM run elsewhere.
// Every case checks that no acknowledged counter value is lost.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DroverClient } from '../src/api/client.js';
import { cutLink, cutStorage, restoreHost, restoreStorage } from '../src/testbed/faults.js';
import { findHost, testbedDown, testbedUp, type TestbedState } from '../src/testbed/testbed.js';
import { counterProblems, readCounter, startCounter, type CounterWriter } from './guest-counter.js';
import { qemusOf, waitFor, watchQemus } from './harness.js';

const isRoot = process.getuid?.() === 0;
// A tag and subnet of our own (the migration netns test uses 10.200-249).
const tag = `x${process.pid % 100000}`;
const subnet = `10.${150 + (process.pid % 50)}.0.0/16`;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe.skipIf(!isRoot)('namespace testbed: HA faults of the network and the storage', () => {
  let tb: TestbedState;
  let client: DroverClient;
  let vmId = '';
  let address = '';
  let bootId = '';
  let counter: CounterWriter | undefined;

  beforeAll(async () => {
    tb = await testbedUp({ hosts: 2, netns: true, tag, subnet, dir: mkdtempSync('/tmp/drvh-') });
    client = new DroverClient({ baseUrl: tb.url, token: tb.token });
    await client.call('createVm', { body: { name: 'ha1', image: 'tiny', host: 'h0', memoryMiB: 256, diskBytes: 16 * 1048576, storage: 'shared', ha: true, network: { mode: 'bridge' } } });
    const vm = await waitFor(async () => {
      const v = await client.call('getVm', { params: { name: 'ha1' } });
      return v.phase === 'Running' && v.guestReadyAt ? v : undefined;
    }, 90_000, 'ha1 running');
    if (vm.spec.network?.mode !== 'bridge') throw new Error('ha1 is not bridged');
    vmId = vm.id;
    address = vm.spec.network.address.split('/')[0]!;
    bootId = (await waitFor(() => info().catch(() => undefined), 30_000, 'guest answers')).bootId;
    counter = startCounter(() => `http://${address}`);
    await waitFor(() => counter!.acked > 0, 30_000, 'the first counter write acknowledged');
  }, 240_000);

  afterAll(async () => {
    await counter?.stop();
    await testbedDown({ tag, dir: tb?.dir ?? '/nonexistent' });
    expect(execFileSync('ip', ['netns', 'list'], { encoding: 'utf8' })).not.toContain(`drv${tag}-`);
  }, 60_000);

  async function info(): Promise<{ bootId: string }> {
    const res = await fetch(`http://${address}/info`, { signal: AbortSignal.timeout(3000) });
    return (await res.json()) as { bootId: string };
  }

  /** After recovery: the disk holds at least what the guest acknowledged before and during the fault. */
  async function expectCounterKept(recoveriesBefore: number): Promise<void> {
    const w = counter!;
    const acked = w.acked;
    expect(acked, 'the guest acknowledged no write at all').toBeGreaterThan(0);
    // The writer lost the guest during the fault and checked the disk when it answered again.
    await waitFor(() => w.recoveries > recoveriesBefore, 30_000, 'the counter writer back after the fault');
    const onDisk = await waitFor(() => readCounter(`http://${address}`), 30_000, 'the guest answers /counter');
    expect(counterProblems(onDisk, { acked, sent: w.sent, problems: w.problems, history: w.history })).toEqual([]);
  }

  /** Samples what must hold during a fault that is no failover: the VM stays on h0 with its epoch, one QEMU, h0 never Fenced. */
  function watchNoFailover(): { stop(): Promise<string[]> } {
    const broken: string[] = [];
    let busy = false;
    const timer = setInterval(() => {
      if (busy) return;
      busy = true;
      void (async () => {
        const [vm, hosts] = await Promise.all([client.call('getVm', { params: { name: 'ha1' } }), client.call('listHosts')]);
        const h0 = hosts.find((h) => h.name === 'h0');
        if (vm.hostId !== h0?.id) broken.push(`the VM moved to ${vm.hostId}`);
        if (h0?.state === 'Fenced' || h0?.state === 'Recovering') broken.push(`h0 turned ${h0.state}`);
        const n = qemusOf(tb.dir, vmId).length;
        if (n !== 1) broken.push(`${n} QEMUs of the VM`);
      })().catch((err: Error) => broken.push(`watch: ${err.message}`)).finally(() => (busy = false));
    }, 250);
    return {
      async stop() {
        clearInterval(timer);
        while (busy) await sleep(50);
        return [...new Set(broken)];
      },
    };
  }

  it('a host cut from the controller but not from storage is isolated: its VM keeps running there', async () => {
    const before = await client.call('getVm', { params: { name: 'ha1' } });
    const recoveries = counter!.recoveries;
    const watch = watchNoFailover();
    await cutLink(tb, 'h0');
    try {
      // Three lease expiries' worth of silence: heartbeats stop, the lease goes on.
      await sleep(20_000);
      const h0 = (await client.call('listHosts')).find((h) => h.name === 'h0');
      expect(h0?.state).toBe('Unreachable');
      expect(h0?.ha?.verdict).toBe('isolated');
    } finally {
      await restoreHost(tb, 'h0');
    }
    await waitFor(async () => (await client.call('listHosts')).find((h) => h.name === 'h0')?.state === 'Ready', 30_000, 'h0 Ready again');
    expect(await watch.stop()).toEqual([]);
    expect((await client.call('getVm', { params: { name: 'ha1' } })).epoch).toBe(before.epoch);
    expect((await waitFor(() => info().catch(() => undefined), 30_000, 'guest answers')).bootId).toBe(bootId);
    await expectCounterKept(recoveries);
  }, 120_000);

  it('short link flaps (2 s) cause no failover', async () => {
    const before = await client.call('getVm', { params: { name: 'ha1' } });
    const recoveries = counter!.recoveries;
    const watch = watchNoFailover();
    for (let i = 0; i < 5; i++) {
      await cutLink(tb, 'h0');
      await sleep(2000);
      await restoreHost(tb, 'h0');
      await sleep(3000);
    }
    expect(await watch.stop()).toEqual([]);
    expect((await client.call('getVm', { params: { name: 'ha1' } })).epoch).toBe(before.epoch);
    expect((await waitFor(() => info().catch(() => undefined), 30_000, 'guest answers')).bootId).toBe(bootId);
    await expectCounterKept(recoveries);
  }, 120_000);

  it('a host cut from storage only fences itself; its VM runs on h1 only after its QEMU on h0 is gone', async () => {
    const before = await client.call('getVm', { params: { name: 'ha1' } });
    const hosts = await client.call('listHosts');
    const [h0, h1] = ['h0', 'h1'].map((n) => hosts.find((h) => h.name === n)!.id);
    expect(before.hostId).toBe(h0);
    const [oldQemu] = qemusOf(tb.dir, vmId);
    const qemus = watchQemus(tb.dir, vmId);
    const ackedBefore = counter!.acked;
    const jobsBefore = new Set((await client.call('listJobs')).map((j) => j.id));
    const recoveries = counter!.recoveries;
    try {
      expect(await cutStorage(tb, 'h0')).toBeGreaterThan(0);
      const moved = await waitFor(async () => {
        const v = await client.call('getVm', { params: { name: 'ha1' } });
        return v.hostId === h1 && v.phase === 'Running' ? v : undefined;
      }, 120_000, 'ha1 restarted on h1');
      expect(moved.epoch).toBeGreaterThan(before.epoch);
      // h0 kept talking to the controller all along: it was failed over on its own word that it lost its lease
      // (it may be Ready again already: it runs none of the moved VMs, and HA VMs are not placed on it while its lease is lost).
      const jobs = await client.call('listJobs');
      expect(jobs.filter((j) => j.kind === 'ha.failover' && j.target === 'h0' && !jobsBefore.has(j.id))).toHaveLength(1);
      const fenced = JSON.parse(readFileSync(path.join(findHost(tb, 'h0').dir, 'fenced.json'), 'utf8')) as Array<{ vmId: string; pid: number }>;
      expect(fenced).toEqual(expect.arrayContaining([expect.objectContaining({ vmId, pid: oldQemu })]));
      const after = await waitFor(() => info().catch(() => undefined), 60_000, 'the guest answers on h1');
      expect(after.bootId).not.toBe(bootId);
      bootId = after.bootId;
    } finally {
      await restoreStorage(tb, 'h0');
      qemus.stop();
    }
    // The order: the old QEMU was last seen before the new one was first seen.
    const old = qemus.seen.get(oldQemu!);
    const fresh = [...qemus.seen.entries()].filter(([pid]) => pid !== oldQemu).map(([, s]) => s.first);
    expect(old).toBeDefined();
    expect(fresh).toHaveLength(1);
    expect(old!.last).toBeLessThan(fresh[0]!);
    expect(qemus.most).toBe(1);
    // The writes go on against the restarted guest.
    await waitFor(() => counter!.acked > ackedBefore, 30_000, 'the guest acknowledges writes again');
    await expectCounterKept(recoveries);
    await waitFor(async () => (await client.call('listHosts')).find((h) => h.id === h0)?.state === 'Ready', 60_000, 'h0 Ready again');
    expect(qemusOf(tb.dir, vmId)).toHaveLength(1);
    expect((await client.call('getVm', { params: { name: 'ha1' } })).hostId).toBe(h1);
  }, 240_000);
});
