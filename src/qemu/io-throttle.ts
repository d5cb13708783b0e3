// Disk I/O limits through QEMU's own throttling (QMP block_set_io_throttle,
// QEMU 7.2). The throttle sits on a disk device's BlockBackend, which the
// command names by the qdev path of the device that owns it: for
// virtio-blk-pci that is its virtio-backend child, not the PCI proxy whose
// id we gave (QEMU refuses that one: "Device does not have a block device
// backend"). query-block lists every backend with that path and its
// throttle values, so the disks are found there, hot-plugged ones included.
import type { QmpClient } from './qmp-client.js';

/** Per disk; 0 is no cap (QEMU's own convention). */
export interface DiskThrottle {
  readIops: number;
  writeIops: number;
  readBytesPerSec: number;
  writeBytesPerSec: number;
}

export const NO_THROTTLE: DiskThrottle = { readIops: 0, writeIops: 0, readBytesPerSec: 0, writeBytesPerSec: 0 };

/** The part of query-block's BlockInfo we read (QAPI names). */
export interface BlockInfo {
  device: string;
  qdev?: string;
  inserted?: { 'node-name'?: string; bps: number; bps_rd: number; bps_wr: number; iops: number; iops_rd: number; iops_wr: number };
}

export interface ThrottledDisk extends DiskThrottle {
  /** The device id (-device ...,id=ID), as in the QEMU spec's disks[].id. */
  id: string;
  /** The qdev path block_set_io_throttle takes. */
  qdev: string;
}

/** Disks of user-created devices (/machine/peripheral/ID/...) with a medium, and their throttles. */
export function disksOf(blocks: readonly BlockInfo[]): ThrottledDisk[] {
  return blocks.flatMap((b) => {
    const id = /^\/machine\/peripheral\/([^/]+)(\/|$)/.exec(b.qdev ?? '')?.[1];
    const i = b.inserted;
    if (!id || !i || !b.qdev) return [];
    return [{ id, qdev: b.qdev, readIops: i.iops_rd, writeIops: i.iops_wr, readBytesPerSec: i.bps_rd, writeBytesPerSec: i.bps_wr }];
  });
}

/** The arguments of block_set_io_throttle for one disk: read and write caps, no combined ones. */
export function throttleArgs(qdev: string, t: DiskThrottle): Record<string, number | string> {
  return { id: qdev, bps: 0, bps_rd: t.readBytesPerSec, bps_wr: t.writeBytesPerSec, iops: 0, iops_rd: t.readIops, iops_wr: t.writeIops };
}

export function sameThrottle(a: DiskThrottle, b: DiskThrottle): boolean {
  return a.readIops === b.readIops && a.writeIops === b.writeIops && a.readBytesPerSec === b.readBytesPerSec && a.writeBytesPerSec === b.writeBytesPerSec;
}

type Qmp = Pick<QmpClient, 'execute'>;

export async function queryDisks(qmp: Qmp): Promise<ThrottledDisk[]> {
  return disksOf(await qmp.execute<BlockInfo[]>('query-block'));
}

/** Gives every disk of the QEMU the throttle `t` (0 fields: no cap), changing only those that differ; returns the disks as QEMU shows them after. */
export async function applyDiskThrottle(qmp: Qmp, t: DiskThrottle): Promise<ThrottledDisk[]> {
  const disks = await queryDisks(qmp);
  const changes = disks.filter((d) => !sameThrottle(d, t));
  for (const d of changes) await qmp.execute('block_set_io_throttle', throttleArgs(d.qdev, t));
  return changes.length > 0 ? queryDisks(qmp) : disks;
}
