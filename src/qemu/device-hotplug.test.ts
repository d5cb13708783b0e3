import { afterEach, describe, expect, it } from 'vitest';
import { deviceDiff, dropDiskNodes, isDiffEmpty, listPlugged, plugDisk, plugNic, unplugDevice, type PluggedDevices } from './device-hotplug.js';
import { QmpClient } from './qmp-client.js';
import { sendQmp, startFakeQmp, type FakeQmpCommand } from './test-support/fake-qmp.js';
import type { QemuDisk, QemuNic } from './vm-spec.js';

type Answer = { return: unknown } | { error: { class: string; desc: string } };

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const fn of cleanups.splice(0).reverse()) await fn();
});

async function connect(answer: (cmd: FakeQmpCommand) => Answer): Promise<{ qmp: QmpClient; received: FakeQmpCommand[] }> {
  const fake = await startFakeQmp((cmd, conn) => sendQmp(conn, { ...answer(cmd), id: cmd.id }), cleanups, { skipCapabilities: true });
  const qmp = await QmpClient.connect(fake.path, { timeoutMs: 2000 });
  cleanups.push(() => qmp.close());
  return { qmp, received: fake.received };
}

const boot: QemuDisk = { id: 'disk-boot', path: '/p/boot.qcow2', format: 'qcow2' };
const data2: QemuDisk = { id: 'disk-data2', path: '/p/data2.qcow2', format: 'qcow2', serial: 'abc-data2', port: 'hp0' };
const net0: QemuNic = { id: 'net0', mac: '52:54:00:00:00:00', mode: 'user', portForwards: [] };
const net1: QemuNic = { id: 'net1', mac: '52:54:00:00:00:01', mode: 'tap', ifname: 'drvtabc1', bridge: 'br0', port: 'hp1' };

describe('what to change', () => {
  const plugged: PluggedDevices = { disks: ['disk-boot', 'disk-data1'], nics: ['net0'], nodes: ['file-disk-boot', 'fmt-disk-boot', 'file-disk-data1', 'fmt-disk-data1', 'fmt-disk-old', 'file-disk-old', 'mig-disk-boot'] };

  it('adds what is wanted, asks to unplug what is not, and cleans the nodes of disks already gone', () => {
    const d = deviceDiff({ disks: [boot, data2], nics: [net0, net1] }, plugged);
    expect(d.addDisks).toEqual([data2]);
    expect(d.removeDisks).toEqual(['disk-data1']);
    expect(d.dropNodes).toEqual(['disk-old']);
    expect(d.addNics).toEqual([net1]);
    expect(d.removeNics).toEqual([]);
    expect(d.foreign).toEqual([]);
    expect(isDiffEmpty(deviceDiff({ disks: [boot], nics: [net0] }, { disks: ['disk-boot'], nics: ['net0'], nodes: ['fmt-disk-boot', 'file-disk-boot'] }))).toBe(true);
  });
  it('never touches devices named the old way (a QEMU started by an older agent) and flags them', () => {
    const d = deviceDiff({ disks: [boot], nics: [net0] }, { disks: ['disk0'], nics: ['net0'], nodes: ['fmt-disk0', 'file-disk0'] });
    expect(d.removeDisks).toEqual([]);
    expect(d.dropNodes).toEqual([]);
    expect(d.foreign).toEqual(['disk0']);
  });
});

describe('QMP of hotplug', () => {
  it('reads plugged devices from /machine/peripheral and the named block nodes', async () => {
    const { qmp } = await connect((cmd) => cmd.execute === 'qom-list'
      ? { return: [{ name: 'disk-boot', type: 'child<virtio-blk-pci>' }, { name: 'net0', type: 'child<virtio-net-pci>' }, { name: 'hp0', type: 'child<pcie-root-port>' }, { name: 'cpu1', type: 'child<max-x86_64-cpu>' }] }
      : { return: [{ 'node-name': 'fmt-disk-boot' }, { 'node-name': 'file-disk-boot' }] });
    expect(await listPlugged(qmp)).toEqual({ disks: ['disk-boot'], nics: ['net0'], nodes: ['fmt-disk-boot', 'file-disk-boot'] });
  });
  it('plugs a disk: its nodes (those missing), then the device on its port with its serial', async () => {
    const { qmp, received } = await connect(() => ({ return: {} }));
    await plugDisk(qmp, data2, ['file-disk-data2'], true);
    expect(received.map((c) => [c.execute, c.arguments])).toEqual([
      ['blockdev-add', { driver: 'qcow2', 'node-name': 'fmt-disk-data2', file: 'file-disk-data2', discard: 'unmap' }],
      ['device_add', { driver: 'virtio-blk-pci', id: 'disk-data2', drive: 'fmt-disk-data2', bus: 'hp0', serial: 'abc-data2' }],
    ]);
    received.length = 0;
    await plugDisk(qmp, { ...data2, serial: undefined }, [], false);
    expect(received[0]?.arguments).toEqual({ driver: 'file', 'node-name': 'file-disk-data2', filename: '/p/data2.qcow2', locking: 'on', discard: 'unmap' });
  });
  it('plugs a NIC, replacing a stale netdev of the same id', async () => {
    let first = true;
    const { qmp, received } = await connect((cmd) => {
      if (cmd.execute === 'netdev_add' && first) {
        first = false;
        return { error: { class: 'GenericError', desc: "Duplicate ID 'net-net1' for netdev" } };
      }
      return { return: {} };
    });
    await plugNic(qmp, net1);
    expect(received.map((c) => c.execute)).toEqual(['netdev_add', 'netdev_del', 'netdev_add', 'device_add']);
    expect(received[0]?.arguments).toEqual({ type: 'tap', id: 'net-net1', ifname: 'drvtabc1', script: 'no', downscript: 'no' });
    expect(received[3]?.arguments).toEqual({ driver: 'virtio-net-pci', id: 'net1', netdev: 'net-net1', mac: '52:54:00:00:00:01', bus: 'hp1', romfile: '' });
  });
  it('unplugs: device_del once (a pending one is fine), then the nodes format first', async () => {
    const { qmp, received } = await connect((cmd) => (cmd.execute === 'device_del' ? { error: { class: 'GenericError', desc: 'Device disk-data1 is already in the process of unplug' } } : { return: {} }));
    await unplugDevice(qmp, 'disk-data1');
    await dropDiskNodes(qmp, 'disk-data1', ['file-disk-data1', 'fmt-disk-data1']);
    expect(received.map((c) => [c.execute, c.arguments])).toEqual([
      ['device_del', { id: 'disk-data1' }],
      ['blockdev-del', { 'node-name': 'fmt-disk-data1' }],
      ['blockdev-del', { 'node-name': 'file-disk-data1' }],
    ]);
  });
});
