// Builds QEMU's argv from a QemuVmSpec. Pure: no I/O beyond caps.odirect(),
// and an argv array, never a shell string. Values inside QEMU option strings
// escape ',' as ',,' so any path is safe.
import path from 'node:path';
import { DEVICE_ID } from '../core/device-layout.js';
import { cpuDeviceArgs, virtioMemArgs, VIRTIO_MEM_ID } from './hotplug.js';
import { runPaths } from './run-dir.js';
import type { HostCapsResolved, QemuDisk, QemuNic, QemuVmSpec } from './vm-spec.js';

/** A spec field QEMU could not express; names the field and the fix. */
export class QemuArgsError extends Error {
  override name = 'QemuArgsError';
  constructor(
    readonly field: string,
    message: string,
  ) {
    super(`${field}: ${message}`);
  }
}

export const DEFAULT_HOTPLUG_PORTS = 4;
/** Seccomp filter: no obsolete syscalls, no setuid, no fork/exec, no scheduler or affinity changes. */
const IFNAME = /^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,14}$/;
export const SANDBOX_OPTION = 'on,obsolete=deny,elevateprivileges=deny,spawn=deny,resourcecontrol=deny';
const MAC = /^[0-9a-fA-F]{2}(:[0-9a-fA-F]{2}){5}$/;
const IPV4 = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Escapes a value for QEMU's "key=value,key=value" option syntax. */
export function optValue(value: string): string {
  return value.replaceAll(',', ',,');
}

/** Ids of the empty root ports a hot-added disk or NIC can be plugged into (bus=...). */
export function hotplugPortIds(spec: QemuVmSpec): string[] {
  return Array.from({ length: spec.hotplugPorts ?? DEFAULT_HOTPLUG_PORTS }, (_, i) => `hp${i}`);
}

/** The root port a cold-plugged device sits on, so it can be unplugged later. */
export function rootPortId(deviceId: string): string {
  return `rp-${deviceId}`;
}

/** The port a disk or NIC sits on: the one recorded when it was hot-added, else its own. */
export function busOf(device: QemuDisk | QemuNic): string {
  return device.port ?? rootPortId(device.id);
}

/**
 * The root ports in order: as the spec pins them (a running VM whose devices
 * changed: a restart or migration target must match it), else one per device
 * without a recorded port, then the empty hotplug ports.
 */
export function rootPortIds(spec: QemuVmSpec): string[] {
  if (spec.rootPorts) return spec.rootPorts;
  const own = [...spec.disks, ...spec.nics].filter((d) => d.port === undefined).map((d) => rootPortId(d.id));
  return [...own, ...hotplugPortIds(spec)];
}

export function buildQemuArgs(spec: QemuVmSpec, caps: HostCapsResolved): string[] {
  return [
    ...machineArgs(spec, caps),
    ...cpuMemoryArgs(spec, caps),
    ...['-nodefaults', '-no-user-config', '-nographic', '-display', 'none', '-msg', 'timestamp=on'],
    ...controlArgs(spec),
    ...rootPortArgs(spec),
    ...(hasVirtioMem(spec) ? virtioMemArgs(bootMemoryOf(spec), spec.memoryMiB, spec.maxMemoryMiB, VIRTIO_MEM_PORT) : []),
    ...spec.disks.flatMap((disk, i) => diskArgs(disk, caps, i === 0 && !spec.boot.kernel)),
    ...spec.nics.flatMap((nic) => nicArgs(nic)),
    ...(spec.balloon ? balloonArgs(caps) : []),
    ...(caps.sandbox ? ['-sandbox', SANDBOX_OPTION] : []),
    ...bootArgs(spec),
    ...(spec.incoming ? ['-S', '-incoming', 'defer'] : []),
  ];
}

function machineArgs(spec: QemuVmSpec, caps: HostCapsResolved): string[] {
  const args = ['-name', `guest=${optValue(spec.name)},debug-threads=on`];
  if (UUID.test(spec.id)) args.push('-uuid', spec.id);
  // TCG runs one host thread per vCPU by default for x86 on x86 (MTTCG), so no thread= option is needed.
  if (caps.kvm) args.push('-machine', 'q35,accel=kvm', '-cpu', cpuModel(caps));
  else args.push('-machine', 'q35', '-accel', 'tcg', '-cpu', cpuModel(caps));
  return args;
}

/** The -cpu model, which also names the type of hot-added vCPU devices. */
export function cpuModel(caps: Pick<HostCapsResolved, 'kvm'>): string {
  return caps.kvm ? 'host' : 'max';
}

/** The memory a QEMU of this spec boots with (fixed); the rest up to memoryMiB is virtio-mem. */
export function bootMemoryOf(spec: Pick<QemuVmSpec, 'memoryMiB' | 'bootMemoryMiB'>): number {
  return Math.min(spec.bootMemoryMiB ?? spec.memoryMiB, spec.memoryMiB);
}

/** Root port of the virtio-mem device (it is never unplugged; the port keeps its PCI address stable). */
export const VIRTIO_MEM_PORT = `rp-${VIRTIO_MEM_ID}`;

/**
 * One boot vCPU and one device per further vCPU, each its own socket, so
 * every vCPU but the first can be unplugged again; fixed boot memory plus a
 * virtio-mem device spanning up to the maximum (src/qemu/hotplug.ts). A
 * migration target started from the same spec has the same devices.
 */
function cpuMemoryArgs(spec: QemuVmSpec, caps: HostCapsResolved): string[] {
  const smp = `1,maxcpus=${spec.maxCpus},sockets=${spec.maxCpus},cores=1,threads=1`;
  const boot = bootMemoryOf(spec);
  let memory = `size=${boot}M`;
  if (hasVirtioMem(spec)) memory += `,slots=${spec.memorySlots},maxmem=${spec.maxMemoryMiB}M`;
  // The virtio-mem device itself follows the root ports (its bus).
  return ['-smp', smp, '-m', memory, ...cpuDeviceArgs(cpuModel(caps), spec.cpus)];
}

export function hasVirtioMem(spec: Pick<QemuVmSpec, 'memoryMiB' | 'bootMemoryMiB' | 'maxMemoryMiB'>): boolean {
  return spec.maxMemoryMiB > bootMemoryOf(spec);
}

function controlArgs(spec: QemuVmSpec): string[] {
  const files = runPaths(spec.runDir);
  return [
    ...['-chardev', `socket,id=qmp,path=${optValue(files.qmp)},server=on,wait=off`],
    ...['-mon', 'chardev=qmp,mode=control'],
    ...['-chardev', `socket,id=serial0,path=${optValue(files.serial)},server=on,wait=off`],
    ...['-serial', 'chardev:serial0'],
    ...['-pidfile', files.pid],
  ];
}

function rootPortArgs(spec: QemuVmSpec): string[] {
  const ports = rootPortIds(spec);
  checkBuses(spec, ports);
  const ids = [...ports, ...(hasVirtioMem(spec) ? [VIRTIO_MEM_PORT] : [])];
  // io-reserve=0: virtio devices behind PCIe ports are modern-only and need no I/O window; the
  // 64 KiB I/O space would otherwise run out after about a dozen ports.
  return ids.flatMap((id, i) => ['-device', `pcie-root-port,id=${id},bus=pcie.0,chassis=${i + 1},io-reserve=0`]);
}

function diskArgs(disk: QemuDisk, caps: HostCapsResolved, bootDisk: boolean): string[] {
  checkId(`disks[${disk.id}].id`, disk.id);
  const ro = disk.readOnly ? ',read-only=on' : '';
  const direct = caps.odirect(path.dirname(disk.path)) ? ',cache.direct=on' : '';
  const file = `driver=file,node-name=file-${disk.id},filename=${optValue(disk.path)},locking=on${direct}${ro},discard=unmap`;
  const format = `driver=${disk.format},node-name=fmt-${disk.id},file=file-${disk.id}${ro},discard=unmap`;
  let device = `virtio-blk-pci,drive=fmt-${disk.id},id=${disk.id},bus=${optValue(busOf(disk))}`;
  if (disk.serial) device += `,serial=${optValue(disk.serial)}`;
  if (bootDisk) device += ',bootindex=0';
  return ['-blockdev', file, '-blockdev', format, '-device', device];
}

function nicArgs(nic: QemuNic): string[] {
  checkId(`nics[${nic.id}].id`, nic.id);
  if (!MAC.test(nic.mac)) throw new QemuArgsError(`nics[${nic.id}].mac`, `"${nic.mac}" is not a MAC address like 52:54:00:12:34:56`);
  // romfile= drops the iPXE option ROM: we never network-boot, and it slows firmware under TCG.
  const device = `virtio-net-pci,netdev=net-${nic.id},id=${nic.id},mac=${nic.mac},bus=${optValue(busOf(nic))},romfile=`;
  return ['-netdev', netdevOf(nic), '-device', device];
}

function netdevOf(nic: QemuNic): string {
  if (nic.mode === 'tap') {
    if (!IFNAME.test(nic.ifname)) throw new QemuArgsError(`nics[${nic.id}].ifname`, `"${nic.ifname}" must be an interface name of 1-15 letters, digits, '_', '.' or '-'`);
    // script=no: the agent has put the TAP on its bridge already (the sandbox forbids QEMU to run helpers).
    return `tap,id=net-${nic.id},ifname=${nic.ifname},script=no,downscript=no`;
  }
  const forwards = nic.portForwards.map((f, i) => {
    if (!isIPv4(f.hostAddress)) throw new QemuArgsError(`nics[${nic.id}].portForwards[${i}].hostAddress`, `"${f.hostAddress}" must be an IPv4 address`);
    return `,hostfwd=${f.proto}:${f.hostAddress}:${f.hostPort}-:${f.guestPort}`;
  });
  return `user,id=net-${nic.id}${forwards.join('')}`;
}

function balloonArgs(caps: HostCapsResolved): string[] {
  const reporting = caps.balloonFreePageReporting ? ',free-page-reporting=on' : '';
  return ['-device', `virtio-balloon-pci,id=balloon0${reporting},deflate-on-oom=on`];
}

function bootArgs(spec: QemuVmSpec): string[] {
  const { kernel, initrd, cmdline } = spec.boot;
  if (!kernel) return [];
  return ['-kernel', kernel, ...(initrd ? ['-initrd', initrd] : []), ...(cmdline ? ['-append', cmdline] : [])];
}

/** Every device on a port of the layout, one device per port. */
function checkBuses(spec: QemuVmSpec, ports: string[]): void {
  const taken = new Set<string>();
  for (const [kind, devices] of [['disks', spec.disks], ['nics', spec.nics]] as const) {
    for (const d of devices) {
      const bus = busOf(d);
      if (!ports.includes(bus)) throw new QemuArgsError(`${kind}[${d.id}].port`, `"${bus}" is not one of the root ports (${ports.join(', ')})`);
      if (taken.has(bus)) throw new QemuArgsError(`${kind}[${d.id}].port`, `"${bus}" holds another device already; one device per root port`);
      taken.add(bus);
    }
  }
}

function checkId(field: string, id: string): void {
  if (!DEVICE_ID.test(id)) throw new QemuArgsError(field, `"${id}" must start with a letter and hold at most 27 letters, digits, '-', '_' or '.'`);
}

function isIPv4(address: string): boolean {
  const m = IPV4.exec(address);
  return m !== null && m.slice(1).every((octet) => Number(octet) <= 255);
}
