// Namespace-mode testbed (root only): every host is a network namespace on
// one fabric, VMs sit on their host's bridge by TAP with a fixed address.
// A TCP stream from the guest must survive its live migration, and the
// testbed must leave nothing behind.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Migration } from '../src/api/migration.js';
import { DroverClient } from '../src/api/client.js';
import { tapName } from '../src/host/network.js';
import { cutLink, restoreHost } from '../src/testbed/faults.js';
import { testbedDown, testbedUp, type TestbedState } from '../src/testbed/testbed.js';
import { waitFor } from './harness.js';
import { readStream } from './stream-reader.js';

const isRoot = process.getuid?.() === 0;
// A tag and subnet of our own, so a testbed someone runs by hand is left alone.
const tag = `t${process.pid % 100000}`;
const subnet = `10.${200 + (process.pid % 50)}.0.0/16`;

describe.skipIf(!isRoot)('namespace testbed: bridged VMs', () => {
  let tb: TestbedState;
  let client: DroverClient;

  beforeAll(async () => {
    tb = await testbedUp({ hosts: 2, netns: true, tag, subnet, dir: mkdtempSync('/tmp/drvn-') });
    client = new DroverClient({ baseUrl: tb.url, token: tb.token });
  }, 180_000);

  afterAll(async () => {
    await testbedDown({ tag, dir: tb?.dir ?? '/nonexistent' });
    expect(execFileSync('ip', ['netns', 'list'], { encoding: 'utf8' })).not.toContain(`drv${tag}-`);
  }, 60_000);

  async function hostId(name: string): Promise<string> {
    return (await client.call('listHosts')).find((h) => h.name === name)!.id;
  }

  async function guest(address: string, path: string): Promise<{ status: number; json: Record<string, unknown> }> {
    const res = await fetch(`http://${address}${path}`, { signal: AbortSignal.timeout(3000) });
    return { status: res.status, json: (await res.json()) as Record<string, unknown> };
  }

  it('keeps a TCP stream from the guest open across a live migration with local disks', async () => {
    await client.call('createVm', { body: { name: 'br1', image: 'tiny', host: 'h0', memoryMiB: 256, diskBytes: 64 * 1048576, network: { mode: 'bridge' } } });
    const vm = await waitFor(async () => {
      const v = await client.call('getVm', { params: { name: 'br1' } });
      return v.phase === 'Running' && v.guestReadyAt ? v : undefined;
    }, 90_000, 'br1 running');
    const net = vm.spec.network;
    if (net?.mode !== 'bridge') throw new Error(`br1 is not bridged: ${JSON.stringify(net)}`);
    const address = net.address.split('/')[0]!;
    const before = await waitFor(() => guest(address, '/info').catch(() => undefined), 30_000, 'guest answers at its own address');
    expect((await guest(address, '/counter?value=4242')).status).toBe(200);

    // Read the stream for 25 s; the migration starts a few seconds in.
    const stream = readStream(`http://${address}/stream?seconds=25`);
    await waitFor(() => stream.lines() >= 20, 15_000, 'stream flowing');
    const r = await client.call('migrateVm', { params: { name: 'br1' }, body: { to: 'h1' } });
    const m = await waitFor(async () => {
      const x: Migration = await client.call('getMigration', { params: { id: r.migration.id } });
      return ['completed', 'failed', 'cancelled'].includes(x.state) ? x : undefined;
    }, 120_000, 'migration end', 250);
    expect(m.state, m.error).toBe('completed');
    const result = await stream.done;

    // The connection was never reset and no line went missing.
    expect(result.error).toBeUndefined();
    expect(result.gaps).toEqual([]);
    expect(result.lastSeq).toBe(249);
    const after = await guest(address, '/info');
    expect(after.json.bootId).toBe(before.json.bootId);
    expect((await guest(address, '/counter')).json.value).toBe(4242);
    const moved = await client.call('getVm', { params: { name: 'br1' } });
    expect(moved.hostId).toBe(await hostId('h1'));
    expect(moved.spec.network).toEqual(net);
    // Ready it was, and ready it stays (the target never sees the guest boot).
    await waitFor(async () => (await client.call('getVm', { params: { name: 'br1' } })).guestReadyAt === vm.guestReadyAt, 15_000, 'guestReadyAt carried over');
    // The source's TAP is gone; the target has it on its bridge.
    const tap = tapName(vm.id, 0);
    await waitFor(() => !ipLinks(tb.hosts[0]!.ns!).includes(tap), 15_000, 'source TAP removed');
    expect(ipLinks(tb.hosts[1]!.ns!)).toContain(tap);
  }, 240_000);

  it('gives a migration up when the target loses its link; the VM runs on where it was and the target is cleaned up', async () => {
    const [from, to] = ['h0', 'h1'];
    await client.call('createVm', { body: { name: 'br3', image: 'tiny', host: from, memoryMiB: 256, storage: 'shared', network: { mode: 'bridge' } } });
    const vm = await waitFor(async () => {
      const v = await client.call('getVm', { params: { name: 'br3' } });
      return v.phase === 'Running' && v.guestReadyAt ? v : undefined;
    }, 90_000, 'br3 running');
    const address = vm.spec.network?.mode === 'bridge' ? vm.spec.network.address.split('/')[0]! : '';
    const bootId = (await waitFor(() => guest(address, '/info').catch(() => undefined), 30_000, 'br3 answers')).json.bootId;
    // A slow memory transfer (4 MiB/s), so the link is cut in the middle of it.
    const r = await client.call('migrateVm', { params: { name: 'br3' }, body: { to, bandwidthMiBs: 4 } });
    await waitFor(async () => (await client.call('getMigration', { params: { id: r.migration.id } })).state === 'transferring', 60_000, 'transferring');
    await cutLink(tb, to);
    try {
      const m = await waitFor(async () => {
        const x: Migration = await client.call('getMigration', { params: { id: r.migration.id } });
        return ['completed', 'failed', 'cancelled'].includes(x.state) ? x : undefined;
      }, 120_000, 'migration given up', 500);
      expect(m.state).toBe('failed');
      expect(m.error).toMatch(/no data moved/);
      const after = await client.call('getVm', { params: { name: 'br3' } });
      expect(after.hostId).toBe(await hostId(from));
      expect(after.phase).toBe('Running');
      expect((await guest(address, '/info')).json.bootId).toBe(bootId);
    } finally {
      await restoreHost(tb, to);
    }
    // Back on the network, the target hears that the migration is over and drops its half.
    const targetDir = tb.hosts.find((h) => h.name === to)!.dir;
    await waitFor(() => !existsSync(join(targetDir, 'vms', vm.id)), 60_000, 'target VM dir removed');
    expect(ipLinks(tb.hosts.find((h) => h.name === to)!.ns!)).not.toContain(tapName(vm.id, 0));
  }, 300_000);

  it('refuses a bridged VM with port forwards, naming the field', async () => {
    await expect(client.call('createVm', { body: { name: 'br2', image: 'tiny', network: { mode: 'bridge' }, ports: [{ hostPort: 18090, guestPort: 80 }] } })).rejects.toMatchObject({ field: 'ports' });
    await expect(client.call('getVm', { params: { name: 'br2' } })).rejects.toMatchObject({ code: 'not_found' });
  });
});

function ipLinks(ns: string): string {
  return execFileSync('ip', ['-n', ns, '-br', 'link', 'show'], { encoding: 'utf8' });
}
