// Disks and NICs of a running QEMU: what it has plugged, what differs from a
// wanted set, and the QMP commands that plug and unplug them. A disk is two
// block nodes (file-<id>, fmt-<id>) under a virtio-blk-pci device; a NIC a
// netdev (net-<id>) under a virtio-net-pci device; each sits on a root port
// of its own (bus), as on the command line (args.ts), so a restarted or
// migration-target QEMU started from the same spec has the same layout.
// Unplugging asks the guest: device_del returns at once, the device goes
// when the guest has let it go (DEVICE_DELETED); only then can its block
// nodes or netdev be deleted.
import { busOf } from './args.js';
import { QmpCommandError, type QmpClient } from './qmp-client.js';
import type { QemuDisk, QemuNic } from './vm-spec.js';

const PERIPHERALS = '/machine/peripheral';
/** Ids of the devices we manage; anything else (a QEMU started by an older agent: disk0, ...) is left alone. */
const DISK_ID = /^disk-/;
const NIC_ID = /^net\d+$/;

export interface PluggedDevices {
  /** Device ids of the virtio-blk-pci devices. */
  disks: string[];
  /** Device ids of the virtio-net-pci devices. */
  nics: string[];
  /** Named block nodes (file-<id>, fmt-<id>, ...). */
  nodes: string[];
}

interface QomProperty {
  name: string;
  type: string;
}

export async function listPlugged(qmp: QmpClient, timeoutMs = 2000): Promise<PluggedDevices> {
  const opts = { timeoutMs };
  const children = await qmp.execute<QomProperty[]>('qom-list', { path: PERIPHERALS }, opts);
  const ofType = (type: string) => children.filter((c) => c.type === `child<${type}>`).map((c) => c.name);
  const nodes = await qmp.execute<Array<{ 'node-name': string }>>('query-named-block-nodes', { flat: true }, opts);
  return { disks: ofType('virtio-blk-pci'), nics: ofType('virtio-net-pci'), nodes: nodes.map((n) => n['node-name']) };
}

export interface DeviceDiff {
  addDisks: QemuDisk[];
  removeDisks: string[];
  /** Disks whose device is gone but whose block nodes remain (unplugged, or a half-done plug). */
  dropNodes: string[];
  addNics: QemuNic[];
  removeNics: string[];
  /** Devices of a layout we do not manage (started by an older agent): nothing is changed then. */
  foreign: string[];
}

/** Pure: what takes `plugged` to `want`. */
export function deviceDiff(want: { disks: readonly QemuDisk[]; nics: readonly QemuNic[] }, plugged: PluggedDevices): DeviceDiff {
  const wantDisks = new Set(want.disks.map((d) => d.id));
  const wantNics = new Set(want.nics.map((n) => n.id));
  const foreign = [...plugged.disks.filter((id) => !DISK_ID.test(id)), ...plugged.nics.filter((id) => !NIC_ID.test(id))];
  const withNodes = new Set(plugged.nodes.flatMap((n) => (n.startsWith('fmt-') || n.startsWith('file-') ? [n.slice(n.indexOf('-') + 1)] : [])));
  return {
    addDisks: want.disks.filter((d) => !plugged.disks.includes(d.id)),
    removeDisks: plugged.disks.filter((id) => DISK_ID.test(id) && !wantDisks.has(id)),
    dropNodes: [...withNodes].filter((id) => DISK_ID.test(id) && !wantDisks.has(id) && !plugged.disks.includes(id)),
    addNics: want.nics.filter((n) => !plugged.nics.includes(n.id)),
    removeNics: plugged.nics.filter((id) => NIC_ID.test(id) && !wantNics.has(id)),
    foreign,
  };
}

export function isDiffEmpty(d: DeviceDiff): boolean {
  return d.addDisks.length + d.removeDisks.length + d.dropNodes.length + d.addNics.length + d.removeNics.length === 0;
}

/** blockdev-add of its nodes (those missing: a half-done plug may have left some), then device_add on its port. */
export async function plugDisk(qmp: QmpClient, disk: QemuDisk, nodes: readonly string[], direct: boolean): Promise<void> {
  const ro = disk.readOnly ? { 'read-only': true } : {};
  if (!nodes.includes(`file-${disk.id}`)) {
    await qmp.execute('blockdev-add', { driver: 'file', 'node-name': `file-${disk.id}`, filename: disk.path, locking: 'on', discard: 'unmap', ...(direct ? { cache: { direct: true } } : {}), ...ro });
  }
  if (!nodes.includes(`fmt-${disk.id}`)) {
    await qmp.execute('blockdev-add', { driver: disk.format, 'node-name': `fmt-${disk.id}`, file: `file-${disk.id}`, discard: 'unmap', ...ro });
  }
  await qmp.execute('device_add', { driver: 'virtio-blk-pci', id: disk.id, drive: `fmt-${disk.id}`, bus: busOf(disk), ...(disk.serial ? { serial: disk.serial } : {}) });
}

/** Deletes the block nodes of an unplugged disk (format node first: it uses the file node). */
export async function dropDiskNodes(qmp: QmpClient, id: string, nodes: readonly string[]): Promise<void> {
  for (const node of [`fmt-${id}`, `file-${id}`]) if (nodes.includes(node)) await qmp.execute('blockdev-del', { 'node-name': node });
}

/** netdev_add (a stale netdev of the same id, left by an unplug the agent did not finish, is replaced), then device_add. */
export async function plugNic(qmp: QmpClient, nic: QemuNic): Promise<void> {
  const netdev = nic.mode === 'tap'
    ? { type: 'tap', id: `net-${nic.id}`, ifname: nic.ifname, script: 'no', downscript: 'no' }
    : { type: 'user', id: `net-${nic.id}` };
  await qmp.execute('netdev_add', netdev).catch(async (err: unknown) => {
    if (!(err instanceof QmpCommandError) || !/duplicate|already/i.test(err.desc)) throw err;
    await qmp.execute('netdev_del', { id: `net-${nic.id}` });
    await qmp.execute('netdev_add', netdev);
  });
  await qmp.execute('device_add', { driver: 'virtio-net-pci', id: nic.id, netdev: `net-${nic.id}`, mac: nic.mac, bus: busOf(nic), romfile: '' });
}

/** Deletes the netdev of an unplugged NIC; a missing one is fine. */
export async function dropNetdev(qmp: QmpClient, id: string): Promise<void> {
  await qmp.execute('netdev_del', { id: `net-${id}` }).catch((err: unknown) => {
    if (!(err instanceof QmpCommandError) || !/not found/i.test(err.desc)) throw err;
  });
}

/** Asks the guest to let the device go; one already on its way out is fine. */
export async function unplugDevice(qmp: QmpClient, id: string): Promise<void> {
  await qmp.execute('device_del', { id }).catch((err: unknown) => {
    if (!(err instanceof QmpCommandError) || !/process of unplug|already pending/i.test(err.desc)) throw err;
  });
}
