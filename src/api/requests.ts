// Request bodies of the user-facing operations.
import { Type, type Static } from 'typebox';
import { VM_LIMITS as L } from '../core/vm-limits.js';
import { HaPriority, HostRulesInput } from './labels.js';
import { VmLimitsSchema } from './limits.js';
import { Ipv4Cidr, Name, StoragePoolName } from './resources.js';

export const CreateVmRequest = Type.Object({
  name: Name,
  image: Name,
  cpus: Type.Optional(Type.Integer({ minimum: L.minCpus, maximum: L.maxCpus, default: 1 })),
  memoryMiB: Type.Optional(Type.Integer({ minimum: L.minMemoryMiB, maximum: L.maxMemoryMiB, default: 256 })),
  maxCpus: Type.Optional(Type.Integer({ minimum: L.minCpus, maximum: L.maxCpus })),
  maxMemoryMiB: Type.Optional(Type.Integer({ minimum: L.minMemoryMiB, maximum: L.maxMemoryMiB })),
  /** Size of an extra blank data disk; none when absent. */
  diskBytes: Type.Optional(Type.Integer({ minimum: L.minDiskBytes })),
  ports: Type.Optional(Type.Array(Type.Object({
    hostPort: Type.Integer({ minimum: 1, maximum: 65535 }),
    guestPort: Type.Integer({ minimum: 1, maximum: 65535 }),
    proto: Type.Optional(Type.Union([Type.Literal('tcp'), Type.Literal('udp')])),
    hostAddress: Type.Optional(Type.String({ format: 'ipv4' })),
  }), { maxItems: L.maxPorts })),
  /** Run it on this host (name or id); placement chooses when absent. */
  host: Type.Optional(Type.String({ minLength: 1 })),
  /** Storage pool of its volumes: 'local' (default) or 'shared' (every host must mount the same shared pool). */
  storage: Type.Optional(StoragePoolName),
  /**
   * Networking: user-mode NAT with port forwards (default), or a TAP on the
   * host's bridge with a fixed address that moves with the VM. A bridged VM
   * without an address gets the next free one of the controller's --bridge-range.
   */
  network: Type.Optional(Type.Union([
    Type.Object({ mode: Type.Literal('user') }),
    Type.Object({ mode: Type.Literal('bridge'), address: Type.Optional(Ipv4Cidr), gateway: Type.Optional(Type.String({ format: 'ipv4' })) }),
  ])),
  /** Start the VM once created (default true). */
  start: Type.Optional(Type.Boolean({ default: true })),
  /** Restart it elsewhere when its host fails (default false). */
  ha: Type.Optional(Type.Boolean()),
  /** HA restart priority, higher first (default 0). */
  haPriority: Type.Optional(HaPriority),
  /** Host labels it must (or should) run on (strength default must). */
  hostRules: Type.Optional(HostRulesInput),
  /** Groups (by name) it joins; placement honours them. */
  groups: Type.Optional(Type.Array(Name, { maxItems: 16 })),
  /** Resource controls (CPU weight and cap, memory cap, disk I/O caps); none when absent. */
  limits: Type.Optional(VmLimitsSchema),
  /** The resource pool (by name) it belongs to; admission checks the pool's limit and the others' reservations. */
  resourcePool: Type.Optional(Name),
});
export type CreateVmRequest = Static<typeof CreateVmRequest>;

/** PATCH /v1/vms/:name: the placement settings to change; the fields left out keep their value. */
export const UpdateVmRequest = Type.Object({
  ha: Type.Optional(Type.Boolean()),
  haPriority: Type.Optional(HaPriority),
  /** Replaces the VM's host rules ([] removes them all). */
  hostRules: Type.Optional(HostRulesInput),
  /** Move it to this resource pool (by name), or out of its pool with null. */
  resourcePool: Type.Optional(Type.Union([Type.Null(), Name])),
});
export type UpdateVmRequest = Static<typeof UpdateVmRequest>;
export const UPDATE_VM_FIELDS = ['ha', 'haPriority', 'hostRules', 'resourcePool'] as const;

/** POST /v1/vms/:name/resize: the new size of a VM, applied live when it runs (hot-add and hot-remove, docs/resize.md). */
export const ResizeVmRequest = Type.Object({
  cpus: Type.Optional(Type.Integer({ minimum: L.minCpus, maximum: L.maxCpus, description: 'vCPUs, up to the VM\'s maxCpus' })),
  memoryMiB: Type.Optional(Type.Integer({ minimum: L.minMemoryMiB, maximum: L.maxMemoryMiB, description: 'MiB, from its boot memory up to its maxMemoryMiB, in 2 MiB steps' })),
  /** When its host lacks the room: live-migrate it first to a host that has it (`to`, or the one placement picks), then grow it. */
  migrate: Type.Optional(Type.Boolean()),
  to: Type.Optional(Type.String({ minLength: 1, description: 'with migrate: the host to move it to' })),
});
export type ResizeVmRequest = Static<typeof ResizeVmRequest>;

export const StopVmRequest = Type.Object({
  force: Type.Optional(Type.Boolean({ description: 'kill QEMU instead of an ACPI power-down' })),
});
export type StopVmRequest = Static<typeof StopVmRequest>;

export const BuildImageRequest = Type.Object({
  name: Type.Literal('tiny', { description: 'the image recipe to build; only "tiny" for now' }),
  force: Type.Optional(Type.Boolean()),
});
export type BuildImageRequest = Static<typeof BuildImageRequest>;

export const ImportImageRequest = Type.Object({
  name: Name,
  /** A qcow2 or raw disk file, as a path on the host. */
  file: Type.Optional(Type.String({ minLength: 1 })),
  /** Or a kernel and initrd pair, as paths on the host. */
  kernel: Type.Optional(Type.String({ minLength: 1 })),
  initrd: Type.Optional(Type.String({ minLength: 1 })),
  cmdline: Type.Optional(Type.String()),
});
export type ImportImageRequest = Static<typeof ImportImageRequest>;

export const NameParams = Type.Object({ name: Type.String() });
export const IdParams = Type.Object({ id: Type.String() });
export const LogsQuery = Type.Object({ bytes: Type.Optional(Type.Integer({ minimum: 1, maximum: 1048576, default: 65536 })) });
