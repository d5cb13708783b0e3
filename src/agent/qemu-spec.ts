// Pure: the QEMU spec of an assignment, given its image's manifest and the
// agent's directories. Kernel images boot with -kernel/-initrd; disk images
// boot their first disk (the boot volume, always first here).
import path from 'node:path';
import type { VmAssignment } from '../api/agent-protocol.js';
import type { VolumeRef } from '../api/resources.js';
import type { ImageManifest } from '../image/manifest.js';
import { tapName } from '../host/network.js';
import type { QemuDisk, QemuNic, QemuVmSpec } from '../qemu/vm-spec.js';
import { attachedVolumes, diskDeviceId, PRIMARY_NIC_ID, rootPortsOf } from '../core/device-layout.js';
import { vmDir, volumePath, type AgentPaths } from './state-files.js';

export const MEMORY_SLOTS = 4;
/** virtio-blk shows at most 20 bytes of serial to the guest. */
const SERIAL_MAX = 20;

export interface HostNetwork {
  /** Where port forwards without an address listen. */
  forwardAddress: string;
  /** The bridge bridged VMs attach to (agent flag --bridge). */
  bridge?: string;
}

export function buildVmSpec(a: VmAssignment, image: { manifest: ImageManifest; dir: string }, paths: AgentPaths, net: HostNetwork = { forwardAddress: '127.0.0.1' }): QemuVmSpec {
  const { spec } = a;
  return {
    id: a.id,
    name: a.name,
    cpus: spec.cpus,
    maxCpus: Math.max(spec.maxCpus, spec.cpus),
    memoryMiB: spec.memoryMiB,
    maxMemoryMiB: Math.max(spec.maxMemoryMiB, spec.memoryMiB),
    ...(spec.bootMemoryMiB !== undefined ? { bootMemoryMiB: spec.bootMemoryMiB } : {}),
    memorySlots: MEMORY_SLOTS,
    boot: bootOf(a, image),
    disks: disksOf(a, paths),
    nics: nicsOf(a, net),
    balloon: true,
    runDir: vmDir(paths, a.id),
    rootPorts: rootPortsOf(a.id, spec),
  };
}

/** Its attached volumes as QEMU disks, boot first; ids stable whatever the other disks do (src/core/device-layout.ts). */
export function disksOf(a: VmAssignment, paths: AgentPaths): QemuDisk[] {
  return attachedVolumes(a.spec.volumes).map((v): QemuDisk => ({
    id: diskDeviceId(a.id, v.id), path: volumePath(paths, a.id, v.id, a.spec.storage), format: 'qcow2', serial: v.id.slice(-SERIAL_MAX), ...(v.port ? { port: v.port } : {}),
  }));
}

/** QEMU device ids of its disks (the migration's disk mirror names its nodes and exports after them). */
export function diskIdsOf(a: VmAssignment): string[] {
  return attachedVolumes(a.spec.volumes).map((v) => diskDeviceId(a.id, v.id));
}

/** The primary NIC, then the added ones; a bridged one needs the host's bridge. */
export function nicsOf(a: VmAssignment, net: HostNetwork): QemuNic[] {
  const added = (a.spec.nics ?? []).map((n): QemuNic => {
    const port = n.port ? { port: n.port } : {};
    if (n.network === 'user') return { id: n.id, mac: n.mac, mode: 'user', portForwards: [], ...port };
    if (!net.bridge) throw new Error(`VM ${a.name} has a bridged NIC ${n.id} but this host has no bridge (agent flag --bridge)`);
    return { id: n.id, mac: n.mac, mode: 'tap', ifname: tapName(a.id, Number(n.id.slice(3))), bridge: net.bridge, ...port };
  });
  return [nicOf(a, net), ...added];
}

function nicOf(a: VmAssignment, net: HostNetwork): QemuNic {
  const { spec } = a;
  if (spec.network?.mode === 'bridge') {
    if (!net.bridge) throw new Error(`VM ${a.name} is bridged but this host has no bridge (agent flag --bridge)`);
    return { id: PRIMARY_NIC_ID, mac: spec.mac, mode: 'tap', ifname: tapName(a.id, 0), bridge: net.bridge };
  }
  return { id: PRIMARY_NIC_ID, mac: spec.mac, mode: 'user', portForwards: spec.ports.map((p) => ({ ...p, hostAddress: p.hostAddress ?? net.forwardAddress })) };
}

/** Kernel arguments the tiny guest's init reads: its name, and for bridged VMs the static address. */
function guestArgs(a: VmAssignment): string[] {
  const net = a.spec.network;
  const args = [`drover.hostname=${a.name}`];
  if (net?.mode === 'bridge') args.push(`drover.ip=${net.address}`, ...(net.gateway ? [`drover.gw=${net.gateway}`] : []));
  return args;
}

function bootOf(a: VmAssignment, image: { manifest: ImageManifest; dir: string }): QemuVmSpec['boot'] {
  const m = image.manifest;
  if (m.kind !== 'kernel') return {};
  if (!m.kernel) throw new Error(`image ${m.name} is a kernel image without a kernel file in its manifest`);
  const cmdline = [m.cmdline ?? '', ...guestArgs(a)].filter(Boolean).join(' ');
  return { kernel: path.join(image.dir, m.kernel), ...(m.initrd ? { initrd: path.join(image.dir, m.initrd) } : {}), cmdline };
}

/** Boot volumes first (the firmware boots the first disk), the rest in their given order. */
export function orderedVolumes(volumes: readonly VolumeRef[]): VolumeRef[] {
  return [...volumes.filter((v) => v.role === 'boot'), ...volumes.filter((v) => v.role !== 'boot')];
}

/** The base disk a boot volume clones: the image's disk file and its format. */
export function backingOf(image: { manifest: ImageManifest; dir: string }): { file: string; format: 'qcow2' | 'raw' } {
  const m = image.manifest;
  if (!m.disk) throw new Error(`image ${m.name} has no disk to clone a boot volume from`);
  return { file: path.join(image.dir, m.disk), format: m.diskFormat ?? 'qcow2' };
}
