// A VM's disks and NICs as its spec wants them and as its host agent reports
// them plugged (by QEMU device id, src/core/device-layout.ts): for the API
// view, for the device jobs' wait, and for the migration check.
import { devicesOf } from '../core/device-layout.js';
import type { VmRecord } from './records.js';

export interface DeviceIds {
  disks: string[];
  nics: string[];
}

/** QEMU device ids of the disks and NICs the spec wants plugged. */
export function wantedDevices(vm: Pick<VmRecord, 'id' | 'spec'>): DeviceIds {
  const all = devicesOf(vm.id, vm.spec);
  return { disks: all.filter((d) => d.kind === 'disk').map((d) => d.id), nics: all.filter((d) => d.kind === 'nic').map((d) => d.id) };
}

/** Whether the reported devices are exactly the wanted ones (undefined when nothing was reported). */
export function devicesMatch(vm: VmRecord): boolean | undefined {
  const got = vm.observed?.devices;
  if (!got) return undefined;
  const want = wantedDevices(vm);
  return sameSet(got.disks, want.disks) && sameSet(got.nics, want.nics);
}

function isLive(vm: VmRecord): boolean {
  return vm.phase === 'Running' || vm.phase === 'Paused' || vm.phase === 'Starting';
}

/** What its QEMU has plugged, while one runs, in spec order: disks by volume id (device id when no volume has it), NICs by id. */
export function liveDevicesOf(vm: VmRecord): { liveDevices?: DeviceIds } {
  const got = vm.observed?.devices;
  if (!got || !isLive(vm)) return {};
  const all = devicesOf(vm.id, { ...vm.spec, volumes: vm.spec.volumes.map((v) => ({ ...v, detached: false })) });
  const rank = (id: string): number => {
    const i = all.findIndex((d) => d.id === id);
    return i < 0 ? all.length : i; // devices the spec no longer has (being unplugged) last
  };
  const ordered = (ids: string[]): string[] => [...ids].sort((a, b) => rank(a) - rank(b) || a.localeCompare(b));
  const volumeOf = new Map(all.map((d) => [d.id, d.ref]));
  return { liveDevices: { disks: ordered(got.disks).map((id) => volumeOf.get(id) ?? id), nics: ordered(got.nics) } };
}

/**
 * Why the VM cannot be live-migrated now for its disks and NICs: the target
 * starts with the spec's devices, so the source must have exactly those
 * plugged; a detached volume on local storage would not be copied.
 */
export function deviceMigrationProblem(vm: VmRecord): string | undefined {
  if (devicesMatch(vm) === false) return `VM ${vm.name} has disks or NICs plugged that differ from its spec: a disk or NIC change is still being carried out (or the guest has not released a device); migrate it once \`drover vm show ${vm.name}\` shows them equal`;
  const detached = vm.spec.volumes.filter((v) => v.detached === true);
  if (detached.length && (vm.spec.storage ?? 'local') === 'local') {
    return `VM ${vm.name} has detached volumes on local storage (${detached.map((v) => v.id).join(', ')}), which a migration would not copy; attach them again (drover vm disk add --volume) or delete them (drover vm disk remove --delete) first`;
  }
  return undefined;
}

function sameSet(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((x) => b.includes(x));
}
