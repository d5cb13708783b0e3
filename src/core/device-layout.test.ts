import { describe, expect, it } from 'vitest';
import { DEVICE_ID, devicesOf, diskDeviceId, freePortsOf, rootPortsOf, type LayoutSpec } from './device-layout.js';

const VM = '0123456789abcdef';
const boot = { id: `${VM}-boot`, role: 'boot' as const };
const data1 = { id: `${VM}-data1`, role: 'data' as const };
const data2 = { id: `${VM}-data2`, role: 'data' as const };

describe('disk device ids', () => {
  it('derive from the volume id, so they stay when another disk goes', () => {
    expect(diskDeviceId(VM, boot.id)).toBe('disk-boot');
    expect(diskDeviceId(VM, data2.id)).toBe('disk-data2');
    const before = devicesOf(VM, { volumes: [boot, data1, data2] }).map((d) => d.id);
    const after = devicesOf(VM, { volumes: [boot, data2] }).map((d) => d.id);
    expect(before).toEqual(['disk-boot', 'disk-data1', 'disk-data2', 'net0']);
    expect(after).toEqual(['disk-boot', 'disk-data2', 'net0']);
  });
  it('fit QEMU\'s node-name limit whatever the volume id, and stay distinct', () => {
    const odd = ['9starts-with-a-digit', 'x'.repeat(60), 'has space', `${VM}-${'y'.repeat(40)}`];
    const ids = odd.map((v) => diskDeviceId(VM, v));
    for (const id of ids) {
      expect(id).toMatch(DEVICE_ID);
      expect(`fmt-${id}`.length).toBeLessThanOrEqual(31);
    }
    expect(new Set(ids).size).toBe(ids.length);
    expect(diskDeviceId(VM, odd[1]!)).toBe(diskDeviceId(VM, odd[1]!));
  });
});

describe('root port layout', () => {
  it('by default: a port per device (boot disk first), then four empty hotplug ports', () => {
    const spec: LayoutSpec = { volumes: [data1, boot], nics: [{ id: 'net1' }] };
    expect(rootPortsOf(VM, spec)).toEqual(['rp-disk-boot', 'rp-disk-data1', 'rp-net0', 'rp-net1', 'hp0', 'hp1', 'hp2', 'hp3']);
    expect(freePortsOf(VM, spec)).toEqual(['hp0', 'hp1', 'hp2', 'hp3']);
  });
  it('leaves detached volumes out and puts hot-added devices on their recorded ports', () => {
    const spec: LayoutSpec = { volumes: [boot, { ...data1, detached: true }, { ...data2, port: 'hp0' }] };
    expect(devicesOf(VM, spec).map((d) => [d.id, d.port])).toEqual([['disk-boot', 'rp-disk-boot'], ['disk-data2', 'hp0'], ['net0', 'rp-net0']]);
    expect(rootPortsOf(VM, spec)).toEqual(['rp-disk-boot', 'rp-net0', 'hp0', 'hp1', 'hp2', 'hp3']);
    expect(freePortsOf(VM, spec)).toEqual(['hp1', 'hp2', 'hp3']);
  });
  it('follows pinned ports, where a removed device leaves its port free', () => {
    const spec: LayoutSpec = { volumes: [boot], rootPorts: ['rp-disk-boot', 'rp-disk-data1', 'rp-net0', 'hp0', 'hp1', 'hp2', 'hp3'] };
    expect(rootPortsOf(VM, spec)).toEqual(spec.rootPorts);
    expect(freePortsOf(VM, spec)).toEqual(['rp-disk-data1', 'hp0', 'hp1', 'hp2', 'hp3']);
  });
});
