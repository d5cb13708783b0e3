import { describe, expect, it } from 'vitest';
import { findVolume, nextNicId, planAddDisk, planAddNic, planRemoveDisk, planRemoveNic, type DeviceVm } from './device-change.js';
import { HOTPLUG_PORTS, type LayoutNic, type LayoutVolume } from './device-layout.js';

const VM = '0123456789abcdef';
type Vol = LayoutVolume & { sizeBytes: number };
type Nic = LayoutNic & { mac: string };
const boot: Vol = { id: `${VM}-boot`, role: 'boot', sizeBytes: 1 };
const data1: Vol = { id: `${VM}-data1`, role: 'data', sizeBytes: 2 };
const DEFAULT_PORTS = ['rp-disk-boot', 'rp-disk-data1', 'rp-net0', 'hp0', 'hp1', 'hp2', 'hp3'];

function vm(live: boolean, spec: DeviceVm<Vol, Nic>['spec'] = { volumes: [boot, data1] }): DeviceVm<Vol, Nic> {
  return { id: VM, name: 'web', live, spec };
}

function ok<T extends { ok: boolean }>(v: T): Extract<T, { ok: true }> {
  if (!v.ok) throw new Error(`refused: ${JSON.stringify(v)}`);
  return v as Extract<T, { ok: true }>;
}

describe('adding a disk', () => {
  it('live: pins the running layout and takes the first free hotplug port', () => {
    const data2: Vol = { id: `${VM}-data2`, role: 'data', sizeBytes: 3 };
    const r = ok(planAddDisk(vm(true), { volume: data2 }));
    expect(r.spec.rootPorts).toEqual(DEFAULT_PORTS);
    expect(r.spec.volumes).toEqual([boot, data1, { ...data2, port: 'hp0' }]);
    expect(r.summary).toBe('disk data2 added (live, on port hp0)');
  });
  it('stopped: lands in the spec, and every device gets its own port again at the next start', () => {
    const pinned = { volumes: [boot, { ...data1, port: 'hp2' }], nics: [{ id: 'net1', mac: 'm', port: 'hp0' }], rootPorts: DEFAULT_PORTS };
    const data2: Vol = { id: `${VM}-data2`, role: 'data', sizeBytes: 3 };
    const r = ok(planAddDisk(vm(false, pinned), { volume: data2 }));
    expect(r.spec).toEqual({ volumes: [boot, data1, data2], nics: [{ id: 'net1', mac: 'm' }] });
  });
  it('attaches a detached volume again, by short name', () => {
    const r = ok(planAddDisk(vm(true, { volumes: [boot, { ...data1, detached: true }] }), { attach: 'data1' }));
    expect(r.spec.volumes).toEqual([boot, { ...data1, port: 'hp0' }]);
  });
  it('refuses an unknown or attached volume, naming the detached ones', () => {
    const none = planAddDisk(vm(true), { attach: 'data1' });
    expect(none).toMatchObject({ ok: false, field: 'volume', allowed: expect.stringMatching(/^none/) });
    expect(none.ok || none.message).toMatch(/attached already/);
    const other = planAddDisk(vm(true, { volumes: [boot, { ...data1, detached: true }] }), { attach: 'data7' });
    expect(other).toMatchObject({ ok: false, field: 'volume', allowed: 'one of its detached volumes: data1' });
  });
  it('refuses a hot-add when no root port is free, and fills a port freed by a removal', () => {
    let spec: DeviceVm<Vol, Nic>['spec'] = { volumes: [boot, data1] };
    for (let i = 0; i < HOTPLUG_PORTS; i++) spec = ok(planAddNic(vm(true, spec), { id: `net${i + 1}`, mac: 'm' })).spec;
    const full = planAddDisk(vm(true, spec), { volume: { id: `${VM}-data2`, role: 'data', sizeBytes: 1 } });
    expect(full).toMatchObject({ ok: false, field: 'disks' });
    const freed = ok(planRemoveDisk(vm(true, spec), 'data1', true)).spec;
    const again = ok(planAddNic(vm(true, freed), { id: 'net5', mac: 'm' }));
    expect(again.spec.nics?.at(-1)).toEqual({ id: 'net5', mac: 'm', port: 'rp-disk-data1' });
    expect(again.spec.rootPorts).toEqual(DEFAULT_PORTS);
  });
});

describe('removing a disk', () => {
  it('detaches it (kept with the VM) or deletes it; live, the layout stays pinned', () => {
    const kept = ok(planRemoveDisk(vm(true), 'data1', false));
    expect(kept.spec).toEqual({ volumes: [boot, { ...data1, detached: true }], rootPorts: DEFAULT_PORTS });
    const gone = ok(planRemoveDisk(vm(true), `${VM}-data1`, true));
    expect(gone.spec.volumes).toEqual([boot]);
    expect(ok(planRemoveDisk(vm(false), 'disk-data1', true)).spec).toEqual({ volumes: [boot] });
  });
  it('refuses the boot disk, an unknown disk and detaching twice, naming the field', () => {
    expect(planRemoveDisk(vm(true), 'boot', true)).toMatchObject({ ok: false, field: 'disk', allowed: 'one of its data disks: data1' });
    expect(planRemoveDisk(vm(true), 'nope', false)).toMatchObject({ ok: false, field: 'disk' });
    const detached = vm(true, { volumes: [boot, { ...data1, detached: true }] });
    expect(planRemoveDisk(detached, 'data1', false)).toMatchObject({ ok: false, field: 'delete' });
    expect(ok(planRemoveDisk(detached, 'data1', true)).spec.volumes).toEqual([boot]);
  });
});

describe('NICs', () => {
  it('numbers added NICs net1.. with the lowest free number', () => {
    expect(nextNicId(undefined)).toBe('net1');
    expect(nextNicId([{ id: 'net1' }, { id: 'net3' }])).toBe('net2');
    expect(nextNicId(Array.from({ length: 7 }, (_, i) => ({ id: `net${i + 1}` })))).toBeUndefined();
  });
  it('adds live on a free port, removes only added NICs', () => {
    const added = ok(planAddNic(vm(true), { id: 'net1', mac: 'm' }));
    expect(added.spec.nics).toEqual([{ id: 'net1', mac: 'm', port: 'hp0' }]);
    expect(planRemoveNic(vm(true, added.spec), 'net0')).toMatchObject({ ok: false, field: 'nic', allowed: 'one of its added NICs: net1' });
    expect(planRemoveNic(vm(true, added.spec), 'net2')).toMatchObject({ ok: false, field: 'nic' });
    const removed = ok(planRemoveNic(vm(true, added.spec), 'net1'));
    expect(removed.spec.nics).toBeUndefined();
    expect(removed.spec.rootPorts).toEqual(DEFAULT_PORTS);
  });
  it('refuses an eighth NIC', () => {
    const nics = Array.from({ length: 7 }, (_, i) => ({ id: `net${i + 1}`, mac: 'm' }));
    expect(planAddNic(vm(false, { volumes: [boot], nics }), { id: 'net8', mac: 'm' })).toMatchObject({ ok: false, field: 'nics' });
  });
});

it('finds a volume by id, short name or device id', () => {
  for (const ref of [data1.id, 'data1', 'disk-data1']) expect(findVolume(VM, [boot, data1], ref)).toBe(data1);
  expect(findVolume(VM, [boot, data1], 'data2')).toBeUndefined();
});
