// HA fault cases on the namespace testbed (root only), with real agents,
// fencers and a bridged HA guest: a host cut from the controller while it
// still reaches the shared storage is isolated, not dead (its VM is never
// restarted elsewhere), and short link flaps cause no failover.
import { execFileSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DroverClient } from '../src/api/client.js';
import { cutLink, restoreHost } from '../src/testbed/faults.js';
import { testbedDown, testbedUp, type TestbedState } from '../src/testbed/testbed.js';
import { qemusOf, waitFor } from './harness.js';

const isRoot = process.getuid?.() === 0;
// A tag and subnet of our own (the migration netns test uses 10.200-249).
const tag = `x${process.pid % 100000}`;
const subnet = `10.${150 + (process.pid % 50)}.0.0/16`;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe.skipIf(!isRoot)('namespace testbed: HA faults that must not fail over', () => {
  let tb: TestbedState;
  let client: DroverClient;
  let vmId = '';
  let address = '';
  let bootId = '';

  beforeAll(async () => {
    tb = await testbedUp({ hosts: 2, netns: true, tag, subnet, dir: mkdtempSync('/tmp/drvh-') });
    client = new DroverClient({ baseUrl: tb.url, token: tb.token });
    await client.call('createVm', { body: { name: 'ha1', image: 'tiny', host: 'h0', memoryMiB: 256, storage: 'shared', ha: true, network: { mode: 'bridge' } } });
    const vm = await waitFor(async () => {
      const v = await client.call('getVm', { params: { name: 'ha1' } });
      return v.phase === 'Running' && v.guestReadyAt ? v : undefined;
    }, 90_000, 'ha1 running');
    if (vm.spec.network?.mode !== 'bridge') throw new Error('ha1 is not bridged');
    vmId = vm.id;
    address = vm.spec.network.address.split('/')[0]!;
    bootId = (await waitFor(() => info().catch(() => undefined), 30_000, 'guest answers')).bootId;
  }, 240_000);

  afterAll(async () => {
    await testbedDown({ tag, dir: tb?.dir ?? '/nonexistent' });
    expect(execFileSync('ip', ['netns', 'list'], { encoding: 'utf8' })).not.toContain(`drv${tag}-`);
  }, 60_000);

  async function info(): Promise<{ bootId: string }> {
    const res = await fetch(`http://${address}/info`, { signal: AbortSignal.timeout(3000) });
    return (await res.json()) as { bootId: string };
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
  }, 120_000);

  it('short link flaps (2 s) cause no failover', async () => {
    const before = await client.call('getVm', { params: { name: 'ha1' } });
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
  }, 120_000);
});
