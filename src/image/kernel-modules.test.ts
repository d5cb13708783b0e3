import { describe, it, expect } from 'vitest';
import { moduleName, parseModinfoDepends, resolveLoadOrder } from './kernel-modules.js';

describe('kernel modules', () => {
  it('names modules the way the kernel does', () => {
    expect(moduleName('/lib/modules/x/kernel/drivers/net/virtio_net.ko.xz')).toBe('virtio_net');
    expect(moduleName('snd-hda-intel.ko')).toBe('snd_hda_intel');
    expect(moduleName('failover.ko.zst')).toBe('failover');
  });

  it('reads depends= from the .modinfo strings', () => {
    const ko = Buffer.from('\x7fELF...\0license=GPL\0depends=net_failover,virtio-ring\0retpoline=Y\0', 'latin1');
    expect(parseModinfoDepends(ko)).toEqual(['net_failover', 'virtio_ring']);
    expect(parseModinfoDepends(Buffer.from('\0depends=\0name=x\0', 'latin1'))).toEqual([]);
  });

  it('orders each module after its dependencies and reports unknown ones', () => {
    const deps = new Map<string, string[]>([
      ['virtio_net', ['net_failover']],
      ['net_failover', ['failover']],
      ['failover', []],
      ['virtio_blk', []],
    ]);
    expect(resolveLoadOrder(['virtio_net', 'virtio_blk', 'virtio_mem', 'failover'], deps)).toEqual({
      order: ['failover', 'net_failover', 'virtio_net', 'virtio_blk'],
      missing: ['virtio_mem'],
    });
  });

  it('survives a dependency cycle', () => {
    const deps = new Map([
      ['a', ['b']],
      ['b', ['a']],
    ]);
    expect(resolveLoadOrder(['a'], deps).order).toEqual(['b', 'a']);
  });
});
