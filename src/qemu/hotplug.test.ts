import { describe, expect, it } from 'vitest';
import { cpuChangeCommands, cpuDeviceArgs, memoryChangeCommand, virtioMemArgs } from './hotplug.js';

describe('hotplug layout', () => {
  it('starts every vCPU but the boot one as its own device, so restart and migration see what was plugged', () => {
    expect(cpuDeviceArgs('max', 1)).toEqual([]);
    expect(cpuDeviceArgs('max', 3)).toEqual([
      '-device', 'max-x86_64-cpu,id=cpu1,socket-id=1,core-id=0,thread-id=0',
      '-device', 'max-x86_64-cpu,id=cpu2,socket-id=2,core-id=0,thread-id=0',
    ]);
  });

  it('plugs vCPUs upward and unplugs from the top, never the boot vCPU', () => {
    expect(cpuChangeCommands('qemu64', 1, 3)).toEqual([
      { execute: 'device_add', arguments: { driver: 'qemu64-x86_64-cpu', id: 'cpu1', 'socket-id': 1, 'core-id': 0, 'thread-id': 0 } },
      { execute: 'device_add', arguments: { driver: 'qemu64-x86_64-cpu', id: 'cpu2', 'socket-id': 2, 'core-id': 0, 'thread-id': 0 } },
    ]);
    expect(cpuChangeCommands('max', 4, 2)).toEqual([{ execute: 'device_del', arguments: { id: 'cpu3' } }, { execute: 'device_del', arguments: { id: 'cpu2' } }]);
    expect(cpuChangeCommands('max', 2, 0)).toEqual([{ execute: 'device_del', arguments: { id: 'cpu1' } }]);
    expect(cpuChangeCommands('max', 2, 2)).toEqual([]);
  });

  it('sizes virtio-mem to the room above boot memory and requests the rest of the VM memory', () => {
    expect(virtioMemArgs(256, 768, 1024, 'rp-vmem0')).toEqual([
      '-object', 'memory-backend-ram,id=vmem0-ram,size=768M',
      '-device', 'virtio-mem-pci,id=vmem0,memdev=vmem0-ram,requested-size=512M,bus=rp-vmem0',
    ]);
    expect(virtioMemArgs(256, 256, 256, 'rp-vmem0')).toEqual([]);
    expect(memoryChangeCommand(256, 512)).toEqual({ execute: 'qom-set', arguments: { path: '/machine/peripheral/vmem0', property: 'requested-size', value: 256 * 1048576 } });
  });
});
