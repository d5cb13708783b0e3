// The agent's device reconciliation against a fake QEMU: unplugs are asked
// once (not again within the ask-again time), a device the guest let go has
// its block nodes or netdev deleted, volume files the spec dropped go once
// QEMU has closed them, and errors are reported.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import type { VmAssignment } from '../api/agent-protocol.js';
import { QmpClient } from '../qemu/qmp-client.js';
import { sendQmp, startFakeQmp, type FakeQmpCommand } from '../qemu/test-support/fake-qmp.js';
import type { AgentContext } from './agent-context.js';
import { agentPaths, volumePath } from './state-files.js';
import { VmDevices } from './vm-devices.js';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const fn of cleanups.splice(0).reverse()) await fn();
});

const VM = '0123456789abcdef';
const a: VmAssignment = {
  id: VM, name: 'web', power: 'running', epoch: 1, rebootSeq: 0, forceStop: false,
  spec: { image: 'tiny', cpus: 1, maxCpus: 1, memoryMiB: 256, maxMemoryMiB: 256, mac: '52:54:00:aa:bb:cc', ports: [], volumes: [{ id: `${VM}-boot`, role: 'boot', sizeBytes: 1 }] },
};

/** A QEMU whose devices the test sets; it answers the hotplug commands and records them. */
async function fakeQemu(devices: { disks: string[]; nics: string[]; nodes: string[] }) {
  const fake = await startFakeQmp((cmd: FakeQmpCommand, conn) => {
    let ret: unknown = {};
    if (cmd.execute === 'qom-list') ret = [...devices.disks.map((name) => ({ name, type: 'child<virtio-blk-pci>' })), ...devices.nics.map((name) => ({ name, type: 'child<virtio-net-pci>' }))];
    if (cmd.execute === 'query-named-block-nodes') ret = devices.nodes.map((n) => ({ 'node-name': n }));
    if (cmd.execute === 'device_add' && cmd.arguments?.bus === 'hp9') return sendQmp(conn, { error: { class: 'GenericError', desc: "Bus 'hp9' not found" }, id: cmd.id });
    sendQmp(conn, { return: ret, id: cmd.id });
  }, cleanups, { skipCapabilities: true });
  const qmp = await QmpClient.connect(fake.path, { timeoutMs: 2000 });
  cleanups.push(() => qmp.close());
  const sent = () => fake.received.filter((c) => !['qom-list', 'query-named-block-nodes'].includes(c.execute)).map((c) => `${c.execute} ${String(c.arguments?.id ?? c.arguments?.['node-name'] ?? '')}`);
  return { qmp, sent };
}

function setup(): { devices: VmDevices; ctx: AgentContext; again: string[] } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vmdev-'));
  cleanups.push(() => fs.rmSync(dir, { recursive: true, force: true }));
  const ctx = { paths: agentPaths(dir), imagesDir: dir, caps: { odirect: () => false }, log: pino({ level: 'silent' }) } as unknown as AgentContext;
  const again: string[] = [];
  const devices = new VmDevices(ctx, VM, ctx.log, () => again.push('again'));
  cleanups.push(() => devices.stop());
  return { devices, ctx, again };
}

describe('VmDevices', () => {
  it('asks the guest once to let removed devices go, then deletes their nodes, netdev and volume file', async () => {
    const { devices, ctx } = setup();
    const state = { disks: ['disk-boot', 'disk-data1'], nics: ['net0', 'net1'], nodes: ['fmt-disk-boot', 'file-disk-boot', 'fmt-disk-data1', 'file-disk-data1'] };
    const { qmp, sent } = await fakeQemu(state);
    const file = volumePath(ctx.paths, VM, `${VM}-data1`);
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, 'x');

    await devices.reconcile(qmp, a, 1000);
    await devices.reconcile(qmp, a, 2000); // within the ask-again time: nothing new
    expect(sent()).toEqual(['device_del disk-data1', 'device_del net1']);
    expect(fs.existsSync(file), 'still open in QEMU').toBe(true);

    // The guest let both go.
    state.disks = ['disk-boot'];
    state.nics = ['net0'];
    await devices.reconcile(qmp, a, 3000);
    expect(sent().slice(2)).toEqual(['blockdev-del fmt-disk-data1', 'blockdev-del file-disk-data1', 'netdev_del net-net1']);
    state.nodes = ['fmt-disk-boot', 'file-disk-boot'];
    await devices.reconcile(qmp, a, 4000);
    expect(fs.existsSync(file)).toBe(false);
    expect(await devices.report(qmp)).toEqual({ disks: ['disk-boot'], nics: ['net0'] });
  });

  it('plugs a hot-added disk on its port and reports what QEMU refused', async () => {
    const { devices } = setup();
    const { qmp, sent } = await fakeQemu({ disks: ['disk-boot'], nics: ['net0'], nodes: ['fmt-disk-boot', 'file-disk-boot'] });
    const grown: VmAssignment = { ...a, spec: { ...a.spec, volumes: [...a.spec.volumes, { id: `${VM}-data2`, role: 'data', sizeBytes: 1, port: 'hp0' }] } };
    await devices.reconcile(qmp, grown);
    expect(sent()).toEqual(['blockdev-add file-disk-data2', 'blockdev-add fmt-disk-data2', 'device_add disk-data2']);
    const bad: VmAssignment = { ...a, spec: { ...a.spec, volumes: [...a.spec.volumes, { id: `${VM}-data3`, role: 'data', sizeBytes: 1, port: 'hp9' }] } };
    await devices.reconcile(qmp, bad);
    expect((await devices.report(qmp))?.error).toMatch(/cannot plug disk disk-data3: .*Bus 'hp9' not found/);
  });

  it('leaves a QEMU with devices named the old way alone', async () => {
    const { devices } = setup();
    const { qmp, sent } = await fakeQemu({ disks: ['disk0'], nics: ['net0'], nodes: ['fmt-disk0', 'file-disk0'] });
    await devices.reconcile(qmp, a);
    expect(sent()).toEqual([]);
  });
});
