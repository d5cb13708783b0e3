// drover vm disk/nic add and remove on real QEMU guests: a blank data disk and
// a NIC hot-added to a running guest (it sees them, with no reboot), data
// written to the new disk, both kept across a live migration and a stop and
// start, then hot-removed; bad input refused, naming the field, without a
// change; a detached volume attached again; no free port, no hot-add; on
// local storage the migration's disk mirror copies a hot-added disk.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiError } from '../src/api/errors.js';
import type { Vm } from '../src/api/resources.js';
import { freePort, guestGet, guestInfo, startCluster, waitFor, type Cluster, type GuestInfo } from './harness.js';

let c: Cluster;
const MiB = 1048576;

/** /info of the tiny guest with its disks and NICs. */
type DeviceInfo = GuestInfo & { disks: Array<{ name: string; serial: string; sizeBytes: number }>; nics: Array<{ name: string; mac: string }> };

beforeAll(async () => {
  c = await startCluster({ agents: 2 });
}, 180_000);

afterAll(async () => {
  await c?.stop();
});

const vmOf = (name: string): Promise<Vm> => c.client.call('getVm', { params: { name } });

async function createVm(name: string, port: number, host: string, storage: 'shared' | 'local' = 'shared'): Promise<DeviceInfo> {
  await c.client.call('createVm', { body: { name, image: 'tiny', host, storage, ports: [{ hostPort: port, guestPort: 80 }] } });
  await waitFor(async () => {
    const v = await vmOf(name);
    return v.phase === 'Running' && v.guestReadyAt ? v : undefined;
  }, 90_000, `${name} running`);
  return info(port, host === 'h0' ? 0 : 1);
}

function info(port: number, on: number): Promise<DeviceInfo> {
  return waitFor(() => guestInfo(port, c.forwardAddress(on)).catch(() => undefined) as Promise<DeviceInfo | undefined>, 30_000, '/info');
}

/** Waits until the guest's /info satisfies `ok`. */
function guestSees(port: number, on: number, what: string, ok: (i: DeviceInfo) => boolean): Promise<DeviceInfo> {
  return waitFor(async () => {
    const i = (await guestInfo(port, c.forwardAddress(on)).catch(() => undefined)) as DeviceInfo | undefined;
    return i && ok(i) ? i : undefined;
  }, 60_000, `the guest to show ${what}`, 250);
}

/** Waits for the job of a request; it must succeed. Returns the VM after it. */
async function succeeded(r: Promise<{ vm: Vm; job: { id: string } }>): Promise<Vm> {
  const { vm, job } = await r;
  const done = await c.client.waitJob(job.id);
  expect(done.state, JSON.stringify(done.error)).toBe('succeeded');
  return vmOf(vm.name);
}

async function refusal(call: Promise<unknown>): Promise<ApiError> {
  const err = await call.then(() => undefined, (e: unknown) => e);
  expect(err).toBeInstanceOf(ApiError);
  return err as ApiError;
}

async function migrate(name: string, to: string): Promise<void> {
  const r = await c.client.call('migrateVm', { params: { name }, body: { to } });
  const m = await waitFor(async () => {
    const x = await c.client.call('getMigration', { params: { id: r.migration.id } });
    return ['completed', 'failed', 'cancelled'].includes(x.state) ? x : undefined;
  }, 180_000, 'migration');
  expect(m.state, m.error).toBe('completed');
}

describe('drover vm disk and nic on a running guest', () => {
  it('hot-adds a disk and a NIC, keeps them (and the data) across a migration and a restart, and hot-removes them', async () => {
    const name = 'dev-hot';
    const port = await freePort();
    const before = await createVm(name, port, 'h1');
    expect(before.disks.map((d) => d.name)).toEqual(['vda']);
    expect(before.nics).toHaveLength(1);

    const withDisk = await succeeded(c.client.call('addVmDisk', { params: { name }, body: { sizeBytes: 64 * MiB } }));
    const volume = withDisk.spec.volumes.find((v) => v.role === 'data');
    expect(volume).toMatchObject({ id: `${withDisk.id}-data1`, sizeBytes: 64 * MiB, port: 'hp0' });
    expect(withDisk.liveDevices?.disks).toContain(volume?.id);
    const serial = volume!.id.slice(-20);
    const seen = await guestSees(port, 1, 'the new disk', (i) => i.disks.some((d) => d.serial === serial));
    expect(seen.disks.find((d) => d.serial === serial)).toMatchObject({ name: 'vdb', sizeBytes: 64 * MiB });
    expect(seen.bootId, 'no reboot').toBe(before.bootId);

    const withNic = await succeeded(c.client.call('addVmNic', { params: { name }, body: {} }));
    const nic = withNic.spec.nics?.[0];
    expect(nic).toMatchObject({ id: 'net1', network: 'user', port: 'hp1' });
    expect(withNic.liveDevices?.nics).toEqual(['net0', 'net1']);
    await guestSees(port, 1, 'the new NIC', (i) => i.nics.some((n) => n.mac === nic?.mac));

    // Data written to the new disk is there after the move and the restart.
    expect((await guestGet(port, '/counter?dev=vdb&value=4242', 10_000, c.forwardAddress(1))).status).toBe(200);

    await migrate(name, 'h0');
    const moved = await info(port, 0);
    expect(moved.bootId).toBe(before.bootId);
    expect(moved.disks.some((d) => d.serial === serial)).toBe(true);
    expect(moved.nics.some((n) => n.mac === nic?.mac)).toBe(true);
    expect((await guestGet(port, '/counter?dev=vdb', 10_000, c.forwardAddress(0))).json).toMatchObject({ value: 4242 });

    await c.client.waitJob((await c.client.call('stopVm', { params: { name }, body: {} })).job.id);
    await c.client.waitJob((await c.client.call('startVm', { params: { name }, body: {} })).job.id);
    const again = await guestSees(port, 0, 'both devices after the restart', (i) => i.disks.length === 2 && i.nics.length === 2);
    expect(again.bootId).not.toBe(before.bootId);
    expect((await guestGet(port, '/counter?dev=vdb', 10_000, c.forwardAddress(0))).json).toMatchObject({ value: 4242 });

    const noDisk = await succeeded(c.client.call('removeVmDisk', { params: { name, id: 'data1' }, query: { delete: true } }));
    expect(noDisk.spec.volumes.map((v) => v.role)).toEqual(['boot']);
    await guestSees(port, 0, 'the disk gone', (i) => i.disks.length === 1);
    const file = join(c.sharedDir, 'volumes', noDisk.id, `${volume!.id}.qcow2`);
    await waitFor(() => !existsSync(file), 20_000, 'the deleted volume file gone');

    const noNic = await succeeded(c.client.call('removeVmNic', { params: { name, id: 'net1' } }));
    expect(noNic.spec.nics ?? []).toEqual([]);
    expect(noNic.liveDevices?.nics).toEqual(['net0']);
    const after = await guestSees(port, 0, 'the NIC gone', (i) => i.nics.length === 1);
    expect(after.bootId).toBe(again.bootId);
    await c.client.waitJob((await c.client.call('deleteVm', { params: { name } })).job.id);
  }, 600_000);

  it('refuses bad input naming the field and changes nothing; keeps and re-attaches a detached volume; refuses a hot-add without a free port', async () => {
    const name = 'dev-bad';
    const port = await freePort();
    await createVm(name, port, 'h1');
    const spec = (await vmOf(name)).spec;
    const cases: Array<[() => Promise<unknown>, string, RegExp]> = [
      [() => c.client.call('removeVmDisk', { params: { name, id: 'nope' } }), 'disk', /has no disk "nope"/],
      [() => c.client.call('removeVmDisk', { params: { name, id: 'boot' } }), 'disk', /is the boot disk/],
      [() => c.client.call('removeVmNic', { params: { name, id: 'net0' } }), 'nic', /primary NIC/],
      [() => c.client.call('removeVmNic', { params: { name, id: 'net5' } }), 'nic', /has no NIC "net5"/],
      [() => c.client.call('addVmDisk', { params: { name }, body: {} }), 'sizeBytes', /nothing to add/],
      [() => c.client.call('addVmDisk', { params: { name }, body: { sizeBytes: 64 * MiB, volume: 'data1' } }), 'volume', /not both/],
      [() => c.client.call('addVmDisk', { params: { name }, body: { volume: 'data9' } }), 'volume', /no detached volume "data9"/],
    ];
    // Each call made only when its turn comes: a rejected promise nobody awaits yet is an unhandled rejection.
    for (const [call, field, message] of cases) {
      const err = await refusal(call());
      expect(err.field, err.message).toBe(field);
      expect(err.message).toMatch(message);
    }
    expect((await vmOf(name)).spec).toEqual(spec);

    // Removed without --delete, the volume stays (detached) and can be attached again, data and all.
    await succeeded(c.client.call('addVmDisk', { params: { name }, body: { sizeBytes: 32 * MiB } }));
    await guestSees(port, 1, 'the disk', (i) => i.disks.length === 2);
    expect((await guestGet(port, '/counter?dev=vdb&value=7', 10_000, c.forwardAddress(1))).status).toBe(200);
    const detached = await succeeded(c.client.call('removeVmDisk', { params: { name, id: 'data1' } }));
    expect(detached.spec.volumes.find((v) => v.role === 'data')).toMatchObject({ detached: true });
    await guestSees(port, 1, 'the disk detached', (i) => i.disks.length === 1);
    await succeeded(c.client.call('addVmDisk', { params: { name }, body: { volume: 'data1' } }));
    await guestSees(port, 1, 'the disk attached again', (i) => i.disks.length === 2);
    expect((await guestGet(port, '/counter?dev=vdb', 10_000, c.forwardAddress(1))).json).toMatchObject({ value: 7 });

    // Four hotplug ports: the detached-and-attached disk holds one, three NICs take the rest.
    for (let i = 0; i < 3; i++) await succeeded(c.client.call('addVmNic', { params: { name }, body: {} }));
    const full = (await vmOf(name)).spec;
    const err = await refusal(c.client.call('addVmDisk', { params: { name }, body: { sizeBytes: 32 * MiB } }));
    expect(err.field).toBe('disks');
    expect(err.message).toMatch(/none free for a hot-added device/);
    expect((await vmOf(name)).spec).toEqual(full);
    await guestSees(port, 1, 'four NICs', (i) => i.nics.length === 4);
    await c.client.waitJob((await c.client.call('deleteVm', { params: { name } })).job.id);
  }, 420_000);

  it('on local storage, the disk mirror of a migration copies a hot-added disk with its data', async () => {
    const name = 'dev-local';
    const port = await freePort();
    await createVm(name, port, 'h1', 'local');
    await succeeded(c.client.call('addVmDisk', { params: { name }, body: { sizeBytes: 32 * MiB } }));
    await guestSees(port, 1, 'the disk', (i) => i.disks.length === 2);
    expect((await guestGet(port, '/counter?dev=vdb&value=99', 10_000, c.forwardAddress(1))).status).toBe(200);
    await migrate(name, 'h0');
    const moved = await info(port, 0);
    expect(moved.disks.map((d) => d.name)).toEqual(['vda', 'vdb']);
    expect((await guestGet(port, '/counter?dev=vdb', 10_000, c.forwardAddress(0))).json).toMatchObject({ value: 99 });
    await c.client.waitJob((await c.client.call('deleteVm', { params: { name } })).job.id);
  }, 420_000);
});
