// Pure: the spec of a VM after adding or removing a disk or NIC, or why it
// cannot be done (drover vm disk add/remove, drover vm nic add/remove). A
// running VM keeps its port layout: the change pins it and a new device
// takes a free port of it. A stopped VM starts afresh: every device gets its
// own port again at the next start (device-layout.ts).
import {
  attachedVolumes, diskDeviceId, freePortsOf, MAX_DISKS, MAX_NICS, PRIMARY_NIC_ID, rootPortsOf,
  type LayoutNic, type LayoutVolume,
} from './device-layout.js';

export interface DeviceFields<V extends LayoutVolume, N extends LayoutNic> {
  volumes: V[];
  nics?: N[];
  rootPorts?: string[];
}

export interface DeviceVm<V extends LayoutVolume, N extends LayoutNic> {
  id: string;
  name: string;
  /** Its QEMU runs: the change is made live, on the ports it has. */
  live: boolean;
  spec: DeviceFields<V, N>;
}

export type DeviceVerdict<V extends LayoutVolume, N extends LayoutNic> =
  | { ok: true; spec: DeviceFields<V, N>; summary: string }
  | { ok: false; field: string; message: string; allowed: string };

type Refusal = Extract<DeviceVerdict<LayoutVolume, LayoutNic>, { ok: false }>;

function refuse(field: string, message: string, allowed: string): Refusal {
  return { ok: false, field, message, allowed };
}

/** The short name of a volume (data1 for <vm id>-data1), which the commands accept too. */
export function volumeShortName(vmId: string, volumeId: string): string {
  return volumeId.startsWith(`${vmId}-`) ? volumeId.slice(vmId.length + 1) : volumeId;
}

/** The volume `ref` names: its id, its short name or its QEMU device id. */
export function findVolume<V extends LayoutVolume>(vmId: string, volumes: readonly V[], ref: string): V | undefined {
  return volumes.find((v) => v.id === ref || volumeShortName(vmId, v.id) === ref || diskDeviceId(vmId, v.id) === ref);
}

/** The id of the next added NIC (net1..net7), or undefined when all are taken. */
export function nextNicId(nics: readonly LayoutNic[] | undefined): string | undefined {
  const taken = new Set((nics ?? []).map((n) => n.id));
  for (let i = 1; i < MAX_NICS; i++) if (!taken.has(`net${i}`)) return `net${i}`;
  return undefined;
}

/** Adds a new blank volume, or attaches again a detached one (`attach`: its id or short name). */
export function planAddDisk<V extends LayoutVolume, N extends LayoutNic>(vm: DeviceVm<V, N>, add: { volume: V } | { attach: string }): DeviceVerdict<V, N> {
  const { spec } = vm;
  if (attachedVolumes(spec.volumes).length >= MAX_DISKS) return refuse('disks', `VM ${vm.name} has ${MAX_DISKS} disks attached, the most it can have; remove one first`, `at most ${MAX_DISKS} disks`);
  let volumes: V[];
  let added: V;
  if ('attach' in add) {
    const detached = spec.volumes.filter((v) => v.detached === true);
    const found = findVolume(vm.id, detached, add.attach);
    const names = detached.map((v) => volumeShortName(vm.id, v.id)).join(', ');
    if (!found) return refuse('volume', `VM ${vm.name} has no detached volume "${add.attach}"${findVolume(vm.id, spec.volumes, add.attach) ? ' (that one is attached already)' : ''}`, names ? `one of its detached volumes: ${names}` : 'none: it has no detached volume (drover vm disk remove keeps one)');
    added = withoutKeys(found, ['detached', 'port']);
    volumes = spec.volumes.map((v) => (v === found ? added : v));
  } else {
    if (spec.volumes.some((v) => v.id === add.volume.id)) return refuse('volume', `VM ${vm.name} has a volume ${add.volume.id} already`, 'a new volume id');
    added = add.volume;
    volumes = [...spec.volumes, added];
  }
  return place(vm, { ...spec, volumes }, 'disks', added, `disk ${volumeShortName(vm.id, added.id)} added`);
}

/** Detaches a data disk (its volume stays with the VM), or with `del` also deletes its volume. */
export function planRemoveDisk<V extends LayoutVolume, N extends LayoutNic>(vm: DeviceVm<V, N>, ref: string, del: boolean): DeviceVerdict<V, N> {
  const { spec } = vm;
  const data = spec.volumes.filter((v) => v.role !== 'boot').map((v) => volumeShortName(vm.id, v.id));
  const allowed = data.length ? `one of its data disks: ${data.join(', ')}` : 'none: it has no data disk';
  const found = findVolume(vm.id, spec.volumes, ref);
  if (!found) return refuse('disk', `VM ${vm.name} has no disk "${ref}"`, allowed);
  const name = volumeShortName(vm.id, found.id);
  if (found.role === 'boot') return refuse('disk', `${name} is the boot disk of VM ${vm.name}; it cannot be removed (delete the VM instead)`, allowed);
  if (found.detached && !del) return refuse('delete', `disk ${name} of VM ${vm.name} is detached already; add delete (--delete) to delete it with its data, or attach it again with drover vm disk add --volume ${name}`, 'true');
  const volumes = del ? spec.volumes.filter((v) => v !== found) : spec.volumes.map((v) => (v === found ? ({ ...withoutKeys(found, ['port']), detached: true } as V) : v));
  const summary = del ? `disk ${name} removed and its volume deleted` : `disk ${name} detached (its volume is kept)`;
  return place(vm, { ...spec, volumes }, 'disks', undefined, summary);
}

export function planAddNic<V extends LayoutVolume, N extends LayoutNic>(vm: DeviceVm<V, N>, nic: N): DeviceVerdict<V, N> {
  const nics = vm.spec.nics ?? [];
  if (nics.length + 1 >= MAX_NICS) return refuse('nics', `VM ${vm.name} has ${MAX_NICS} NICs, the most it can have; remove one first`, `at most ${MAX_NICS} NICs`);
  if (nic.id === PRIMARY_NIC_ID || nics.some((n) => n.id === nic.id)) return refuse('nic', `VM ${vm.name} has a NIC ${nic.id} already`, nextNicId(nics) ?? 'none');
  return place(vm, { ...vm.spec, nics: [...nics, nic] }, 'nics', nic, `NIC ${nic.id} added`);
}

export function planRemoveNic<V extends LayoutVolume, N extends LayoutNic>(vm: DeviceVm<V, N>, ref: string): DeviceVerdict<V, N> {
  const nics = vm.spec.nics ?? [];
  const allowed = nics.length ? `one of its added NICs: ${nics.map((n) => n.id).join(', ')}` : 'none: it has no added NIC';
  if (ref === PRIMARY_NIC_ID) return refuse('nic', `${PRIMARY_NIC_ID} is the primary NIC of VM ${vm.name} (its MAC, address and port forwards); only added NICs can be removed`, allowed);
  if (!nics.some((n) => n.id === ref)) return refuse('nic', `VM ${vm.name} has no NIC "${ref}"`, allowed);
  return place(vm, { ...vm.spec, nics: nics.filter((n) => n.id !== ref) }, 'nics', undefined, `NIC ${ref} removed`);
}

/**
 * Live: pins the layout of the running QEMU and puts the new device (if
 * any) on its first free port. Stopped: forgets ports, so the next start
 * lays every device out afresh.
 */
function place<V extends LayoutVolume, N extends LayoutNic>(vm: DeviceVm<V, N>, next: DeviceFields<V, N>, field: 'disks' | 'nics', added: V | N | undefined, summary: string): DeviceVerdict<V, N> {
  if (!vm.live) {
    const volumes = next.volumes.map((v) => withoutKeys(v, ['port']));
    const nics = next.nics?.map((n) => withoutKeys(n, ['port']));
    return { ok: true, spec: { volumes, ...(nics?.length ? { nics } : {}) }, summary: `${summary} (from its next start)` };
  }
  const pinned = { ...next, rootPorts: rootPortsOf(vm.id, vm.spec) };
  if (!pinned.nics?.length) delete pinned.nics;
  if (!added) return { ok: true, spec: pinned, summary: `${summary} (live)` };
  const free = freePortsOf(vm.id, { ...pinned, volumes: pinned.volumes.filter((v) => v !== added), nics: pinned.nics?.filter((n) => n !== added) });
  const port = free[0];
  if (!port) return refuse(field, `VM ${vm.name} runs with all ${pinned.rootPorts.length} of its root ports in use, none free for a hot-added device; remove a disk or NIC first, or stop the VM to add it (a stopped VM lays its devices out afresh)`, 'a free hotplug port (4 per start)');
  const withPort = { ...added, port };
  return {
    ok: true,
    spec: {
      ...pinned,
      volumes: pinned.volumes.map((v) => (v === added ? (withPort as V) : v)),
      ...(pinned.nics ? { nics: pinned.nics.map((n) => (n === added ? (withPort as N) : n)) } : {}),
    },
    summary: `${summary} (live, on port ${port})`,
  };
}

function withoutKeys<T extends object>(o: T, keys: readonly string[]): T {
  const copy = { ...o } as Record<string, unknown>;
  for (const k of keys) delete copy[k];
  return copy as T;
}
