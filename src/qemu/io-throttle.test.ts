import { describe, expect, it } from 'vitest';
import { applyDiskThrottle, disksOf, throttleArgs, type BlockInfo } from './io-throttle.js';

/** What QEMU 7.2 answers for a -blockdev + virtio-blk-pci disk (trimmed). */
function block(id: string, t: Partial<Record<'bps' | 'bps_rd' | 'bps_wr' | 'iops' | 'iops_rd' | 'iops_wr', number>> = {}): BlockInfo {
  return { device: '', qdev: `/machine/peripheral/${id}/virtio-backend`, inserted: { 'node-name': `fmt-${id}`, bps: 0, bps_rd: 0, bps_wr: 0, iops: 0, iops_rd: 0, iops_wr: 0, ...t } };
}

/** A QMP stand-in that keeps each backend's throttle, like QEMU. */
function fakeQmp(blocks: BlockInfo[]) {
  const calls: Array<[string, unknown]> = [];
  return {
    calls,
    async execute<T>(command: string, args?: object): Promise<T> {
      calls.push([command, args]);
      if (command === 'query-block') return structuredClone(blocks) as T;
      const a = args as Record<string, number | string>;
      const b = blocks.find((x) => x.qdev === a['id']);
      if (!b?.inserted) throw new Error(`Device '${String(a['id'])}' not found`);
      Object.assign(b.inserted, { bps: a['bps'], bps_rd: a['bps_rd'], bps_wr: a['bps_wr'], iops: a['iops'], iops_rd: a['iops_rd'], iops_wr: a['iops_wr'] });
      return {} as T;
    },
  };
}

describe('disk I/O throttle', () => {
  it('finds the disks of user devices with their throttle, by device id', () => {
    const blocks = [block('disk-boot', { iops_rd: 100 }), block('disk-data1'), { device: 'cd0', qdev: '/machine/peripheral/cd0/x' }, { device: 'sd0' }];
    expect(disksOf(blocks)).toEqual([
      { id: 'disk-boot', qdev: '/machine/peripheral/disk-boot/virtio-backend', readIops: 100, writeIops: 0, readBytesPerSec: 0, writeBytesPerSec: 0 },
      { id: 'disk-data1', qdev: '/machine/peripheral/disk-data1/virtio-backend', readIops: 0, writeIops: 0, readBytesPerSec: 0, writeBytesPerSec: 0 },
    ]);
  });

  it('names the backend by its qdev path and sets read and write caps only', () => {
    expect(throttleArgs('/machine/peripheral/disk0/virtio-backend', { readIops: 200, writeIops: 100, readBytesPerSec: 1 << 20, writeBytesPerSec: 0 })).toEqual({
      id: '/machine/peripheral/disk0/virtio-backend', bps: 0, bps_rd: 1 << 20, bps_wr: 0, iops: 0, iops_rd: 200, iops_wr: 100,
    });
  });

  it('changes only the disks that differ, and returns what QEMU shows after', async () => {
    const qmp = fakeQmp([block('disk0', { iops_rd: 200 }), block('disk1')]);
    const after = await applyDiskThrottle(qmp, { readIops: 200, writeIops: 0, readBytesPerSec: 0, writeBytesPerSec: 0 });
    expect(qmp.calls.filter(([c]) => c === 'block_set_io_throttle').map(([, a]) => (a as { id: string }).id)).toEqual(['/machine/peripheral/disk1/virtio-backend']);
    expect(after.map((d) => [d.id, d.readIops])).toEqual([['disk0', 200], ['disk1', 200]]);
    qmp.calls.length = 0;
    await applyDiskThrottle(qmp, { readIops: 200, writeIops: 0, readBytesPerSec: 0, writeBytesPerSec: 0 });
    expect(qmp.calls.map(([c]) => c)).toEqual(['query-block']);
  });
});
