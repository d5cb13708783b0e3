// The device layout that lets a running VM grow and shrink (issue 6), as
// pure builders: the command-line arguments a QEMU starts with, and the QMP
// commands that change it live. The same layout on the command line and
// after hotplug is what lets a grown VM restart and migrate: the
// destination QEMU is started with the devices the source has plugged.
//
// vCPUs: QEMU boots with `-smp 1,maxcpus=M`; every further vCPU is a device
// of its own (`<model>-x86_64-cpu`, socket-id K, id cpuK), on the command
// line or by device_add, so each can also be unplugged (the boot vCPU
// cannot). Memory: a fixed boot size plus one virtio-mem device spanning up
// to the maximum; its requested-size follows the VM's memory, up and down
// (the guest's virtio_mem driver plugs and unplugs 2 MiB blocks). DIMMs
// could only grow in whole devices and need the guest to offline a whole
// DIMM to shrink, which Linux rarely manages.

import { MEMORY_BLOCK_MIB } from '../core/resize.js';

export const VIRTIO_MEM_ID = 'vmem0';
export const VIRTIO_MEM_PATH = `/machine/peripheral/${VIRTIO_MEM_ID}`;
const VIRTIO_MEM_BACKEND = 'vmem0-ram';
const MiB = 1048576;

export interface QmpCommand {
  execute: string;
  arguments: Record<string, unknown>;
}

/** QEMU's QOM type of a hotpluggable vCPU of this -cpu model, e.g. max-x86_64-cpu. */
export function cpuDeviceType(model: string): string {
  return `${model}-x86_64-cpu`;
}

export function cpuDeviceId(socket: number): string {
  return `cpu${socket}`;
}

/** -device arguments of vCPUs 1..cpus-1 (the boot vCPU comes from -smp 1). */
export function cpuDeviceArgs(model: string, cpus: number): string[] {
  const args: string[] = [];
  for (let socket = 1; socket < cpus; socket++) args.push('-device', `${cpuDeviceType(model)},id=${cpuDeviceId(socket)},socket-id=${socket},core-id=0,thread-id=0`);
  return args;
}

/** -object/-device arguments of the virtio-mem device: sized to the room above boot memory, requesting memoryMiB - bootMiB. */
export function virtioMemArgs(bootMiB: number, memoryMiB: number, maxMemoryMiB: number, bus: string): string[] {
  // Both sizes must be whole blocks: an odd MiB above boot memory is left unused.
  const region = wholeBlocks(maxMemoryMiB - bootMiB);
  if (region <= 0) return [];
  return [
    '-object', `memory-backend-ram,id=${VIRTIO_MEM_BACKEND},size=${region}M`,
    '-device', `virtio-mem-pci,id=${VIRTIO_MEM_ID},memdev=${VIRTIO_MEM_BACKEND},requested-size=${Math.min(region, wholeBlocks(memoryMiB - bootMiB))}M,bus=${bus}`,
  ];
}

function wholeBlocks(mib: number): number {
  return Math.max(0, Math.floor(mib / MEMORY_BLOCK_MIB) * MEMORY_BLOCK_MIB);
}

/** The QMP commands that take the vCPUs from `from` to `to` (adds in socket order, removes from the top). */
export function cpuChangeCommands(model: string, from: number, to: number): QmpCommand[] {
  const cmds: QmpCommand[] = [];
  for (let socket = from; socket < to; socket++) {
    cmds.push({ execute: 'device_add', arguments: { driver: cpuDeviceType(model), id: cpuDeviceId(socket), 'socket-id': socket, 'core-id': 0, 'thread-id': 0 } });
  }
  // device_del only asks: the guest ejects the vCPU, then QEMU sends DEVICE_DELETED.
  for (let socket = from - 1; socket >= to && socket >= 1; socket--) cmds.push({ execute: 'device_del', arguments: { id: cpuDeviceId(socket) } });
  return cmds;
}

/** The QMP command that asks the guest to hold memoryMiB in all (boot memory plus virtio-mem). */
export function memoryChangeCommand(bootMiB: number, memoryMiB: number): QmpCommand {
  return { execute: 'qom-set', arguments: { path: VIRTIO_MEM_PATH, property: 'requested-size', value: wholeBlocks(memoryMiB - bootMiB) * MiB } };
}
