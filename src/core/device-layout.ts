// Pure: where a VM's disks and NICs sit in its QEMU (issue 6, hot-add of
// disks and NICs). Every disk and NIC has a PCIe root port of its own: a
// device present at start gets `rp-<device id>`; a few empty ports
// (`hp0`..`hp3`) follow for devices added while it runs. A live migration
// needs the destination QEMU to have the very same ports in the same order,
// so once a running VM's devices change, its spec pins the port list
// (`rootPorts`) and every hot-added device records the port it took
// (`port`). The controller chooses ports; the agent and src/qemu/args.ts
// only follow the spec.

/** Empty root ports a VM starts with for devices added while it runs. */
export const HOTPLUG_PORTS = 4;
/** Disks attached at once (the boot disk included), and NICs (the primary one included). */
export const MAX_DISKS = 16;
export const MAX_NICS = 8;
/** The NIC every VM has (spec.mac, spec.network, spec.ports); added NICs are net1..net7. */
export const PRIMARY_NIC_ID = 'net0';
/**
 * QEMU device ids: they double as block node names ("fmt-" + id, "file-" +
 * id, "mig-" + id), which QEMU caps at 31 characters.
 */
export const DEVICE_ID = /^[A-Za-z][A-Za-z0-9_.-]{0,26}$/;

export interface LayoutVolume {
  id: string;
  role: 'boot' | 'data';
  /** Kept with the VM but not attached (drover vm disk remove without --delete). */
  detached?: boolean;
  /** The root port it was hot-added on; absent: its own rp-<device id>. */
  port?: string;
}

export interface LayoutNic {
  id: string;
  port?: string;
}

export interface LayoutSpec {
  volumes: readonly LayoutVolume[];
  /** NICs added to the primary one. */
  nics?: readonly LayoutNic[];
  /** The running QEMU's root ports in order, pinned by a live device change; absent: the default layout. */
  rootPorts?: readonly string[];
}

export interface PlacedDevice {
  /** QEMU device id. */
  id: string;
  kind: 'disk' | 'nic';
  /** Volume id (disks) or NIC id (NICs). */
  ref: string;
  /** The root port (bus) it sits on. */
  port: string;
}

/** The QEMU device id of a volume: stable whatever the other disks do (disk-boot, disk-data1, ...). */
export function diskDeviceId(vmId: string, volumeId: string): string {
  const short = volumeId.startsWith(`${vmId}-`) ? volumeId.slice(vmId.length + 1) : volumeId;
  const id = `disk-${short}`;
  // Ids that do not fit QEMU's rules get a stable hash instead.
  return DEVICE_ID.test(id) ? id : `disk-v${fnv1a(volumeId)}`;
}

export function hotplugPortId(i: number): string {
  return `hp${i}`;
}

/** The port a device present at start gets. */
export function ownPortId(deviceId: string): string {
  return `rp-${deviceId}`;
}

/** Attached volumes in device order: boot volumes first (the firmware boots the first disk), then the rest as listed. */
export function attachedVolumes<V extends LayoutVolume>(volumes: readonly V[]): V[] {
  const attached = volumes.filter((v) => v.detached !== true);
  return [...attached.filter((v) => v.role === 'boot'), ...attached.filter((v) => v.role !== 'boot')];
}

/** Every disk and NIC of the spec with its port: disks, then the primary NIC, then the added NICs. */
export function devicesOf(vmId: string, spec: LayoutSpec): PlacedDevice[] {
  const disks = attachedVolumes(spec.volumes).map((v): PlacedDevice => {
    const id = diskDeviceId(vmId, v.id);
    return { id, kind: 'disk', ref: v.id, port: v.port ?? ownPortId(id) };
  });
  const primary: LayoutNic = { id: PRIMARY_NIC_ID };
  const nics = [primary, ...(spec.nics ?? [])].map((n): PlacedDevice => ({ id: n.id, kind: 'nic', ref: n.id, port: n.port ?? ownPortId(n.id) }));
  return [...disks, ...nics];
}

/** The root ports of a QEMU started from this spec, in order (the virtio-mem port, if any, follows them). */
export function rootPortsOf(vmId: string, spec: LayoutSpec): string[] {
  if (spec.rootPorts) return [...spec.rootPorts];
  const own = devicesOf(vmId, spec).filter((d) => d.port === ownPortId(d.id)).map((d) => d.port);
  return [...own, ...Array.from({ length: HOTPLUG_PORTS }, (_, i) => hotplugPortId(i))];
}

/** Ports of the layout no device of the spec sits on, in layout order. */
export function freePortsOf(vmId: string, spec: LayoutSpec): string[] {
  const used = new Set(devicesOf(vmId, spec).map((d) => d.port));
  return rootPortsOf(vmId, spec).filter((p) => !used.has(p));
}

/** 32-bit FNV-1a as 8 hex digits: short, stable ids from arbitrary strings. */
function fnv1a(text: string): string {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h.toString(16).padStart(8, '0');
}
