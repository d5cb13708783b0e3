// Resource schemas, declared once (TypeBox). The server validates with them,
// the OpenAPI document is generated from them, and the typed client, CLI and
// web console use the static types derived from them.
import { Type, type Static } from 'typebox';
import { NAME_PATTERN } from '../core/names.js';
import { VM_PHASES, type VmPhase } from '../core/phase.js';
import { VM_LIMITS } from '../core/vm-limits.js';
import { HOST_HA_VERDICTS, type HostHaVerdict } from '../core/ha-failover.js';
import { HaPriority, HostRuleSchema, LabelMap } from './labels.js';
import { AppliedLimits, VmLimitsSchema } from './limits.js';

export const Name = Type.String({ pattern: NAME_PATTERN, minLength: 1, maxLength: 63, description: "1-63 lowercase letters, digits and '-'" });
export const IsoTime = Type.String({ description: 'ISO-8601 time' });
// Type.Unsafe keeps the union's JSON schema but gives it the literal type (a union built from a mapped array is `never` statically).
export const VmPhaseSchema = Type.Unsafe<VmPhase>(Type.Union(VM_PHASES.map((p) => Type.Literal(p))));
export const PowerIntentSchema = Type.Union([Type.Literal('running'), Type.Literal('stopped'), Type.Literal('paused')]);

export const PortForward = Type.Object({
  proto: Type.Union([Type.Literal('tcp'), Type.Literal('udp')]),
  /** Absent: the forward address of whichever host runs the VM (agent flag --forward-address, default 127.0.0.1), so forwards follow the VM when it moves. */
  hostAddress: Type.Optional(Type.String({ description: "host address to listen on; the VM's host's forward address when absent" })),
  hostPort: Type.Integer({ minimum: 1, maximum: 65535 }),
  guestPort: Type.Integer({ minimum: 1, maximum: 65535 }),
});
export type PortForward = Static<typeof PortForward>;

export const StoragePoolName = Type.Union([Type.Literal('local'), Type.Literal('shared')]);
export type StoragePoolName = Static<typeof StoragePoolName>;

export const VolumeRef = Type.Object({
  id: Type.String(),
  role: Type.Union([Type.Literal('boot'), Type.Literal('data')]),
  sizeBytes: Type.Integer({ minimum: 1 }),
  /** Boot volumes are thin clones of the image's disk; data volumes are blank. */
  backingImage: Type.Optional(Name),
  /** Kept with the VM but not attached to it (drover vm disk remove without --delete). */
  detached: Type.Optional(Type.Boolean()),
  /** The PCIe root port it was hot-added on (src/core/device-layout.ts); absent: a port of its own. */
  port: Type.Optional(Type.String()),
});
export type VolumeRef = Static<typeof VolumeRef>;

/** A NIC added to the VM's primary one (drover vm nic add): user-mode NAT without forwards, or a TAP on its host's bridge. */
export const VmNic = Type.Object({
  id: Type.String({ pattern: '^net[1-9]$', description: 'net1, net2, ...' }),
  mac: Type.String({ pattern: '^([0-9a-f]{2}:){5}[0-9a-f]{2}$' }),
  network: Type.Union([Type.Literal('user'), Type.Literal('bridge')]),
  /** The PCIe root port it was hot-added on; absent: a port of its own. */
  port: Type.Optional(Type.String()),
});
export type VmNic = Static<typeof VmNic>;

/** An IPv4 address with its prefix length, e.g. 10.77.1.5/16. */
export const Ipv4Cidr = Type.String({ pattern: '^((25[0-5]|2[0-4][0-9]|1?[0-9]?[0-9])\\.){3}(25[0-5]|2[0-4][0-9]|1?[0-9]?[0-9])/([0-9]|[12][0-9]|3[0-2])$', description: 'IPv4 address/prefix, e.g. 10.77.1.5/16' });

/**
 * How the VM's NIC reaches the network. 'user': QEMU's user-mode NAT with port
 * forwards (no privileges; the default). 'bridge': a TAP on its host's bridge
 * (agent flag --bridge); the guest keeps this address and its MAC wherever it runs.
 */
export const VmNetwork = Type.Union([
  Type.Object({ mode: Type.Literal('user') }),
  Type.Object({ mode: Type.Literal('bridge'), address: Ipv4Cidr, gateway: Type.Optional(Type.String({ format: 'ipv4' })) }),
]);
export type VmNetwork = Static<typeof VmNetwork>;

export const VmSpec = Type.Object({
  image: Name,
  cpus: Type.Integer({ minimum: VM_LIMITS.minCpus, maximum: VM_LIMITS.maxCpus }),
  maxCpus: Type.Integer({ minimum: VM_LIMITS.minCpus, maximum: VM_LIMITS.maxCpus }),
  memoryMiB: Type.Integer({ minimum: VM_LIMITS.minMemoryMiB, maximum: VM_LIMITS.maxMemoryMiB }),
  maxMemoryMiB: Type.Integer({ minimum: VM_LIMITS.minMemoryMiB, maximum: VM_LIMITS.maxMemoryMiB }),
  /** The fixed memory it boots with; memory above it is hot-pluggable (virtio-mem) and can be taken back. Absent: memoryMiB. */
  bootMemoryMiB: Type.Optional(Type.Integer({ minimum: VM_LIMITS.minMemoryMiB, maximum: VM_LIMITS.maxMemoryMiB })),
  volumes: Type.Array(VolumeRef),
  ports: Type.Array(PortForward),
  mac: Type.String({ pattern: '^([0-9a-f]{2}:){5}[0-9a-f]{2}$' }),
  /** The storage pool of all its volumes: 'local' (the host's own disk; the default) or 'shared' (a directory every host mounts). */
  storage: Type.Optional(StoragePoolName),
  /** Absent: user-mode networking. */
  network: Type.Optional(VmNetwork),
  /** Restart it elsewhere when its host fails (the HA work uses it; it counts in HA admission). Absent: false. */
  ha: Type.Optional(Type.Boolean()),
  /** HA restart priority, higher first. Absent: 0. */
  haPriority: Type.Optional(HaPriority),
  /** Host labels it must (or should) run on. Absent: any host. */
  hostRules: Type.Optional(Type.Array(HostRuleSchema)),
  /** NICs added to the primary one (whose MAC and network are mac and network above). */
  nics: Type.Optional(Type.Array(VmNic)),
  /** The root ports of its running QEMU in order, pinned by a live disk or NIC change so a restart or migration target matches. */
  rootPorts: Type.Optional(Type.Array(Type.String())),
  /** CPU weight and cap, memory cap, disk I/O caps; applied live (PUT /v1/vms/:name/limits). Absent: none. */
  limits: Type.Optional(VmLimitsSchema),
  /** The resource pool it belongs to, by name (docs/resource-pools.md). Absent: none. */
  resourcePool: Type.Optional(Name),
});
export type VmSpec = Static<typeof VmSpec>;

export const VmStats = Type.Object({
  cpuSeconds: Type.Number(),
  rssBytes: Type.Integer(),
  balloonBytes: Type.Optional(Type.Integer()),
  qmpStatus: Type.Optional(Type.String()),
  /** With a CPU cap: time its cgroup was held back by the cap since QEMU started. */
  cpuThrottledSeconds: Type.Optional(Type.Number()),
  /** With CPU or memory limits: the memory charged to its cgroup. */
  cgroupMemoryBytes: Type.Optional(Type.Integer()),
});
export type VmStats = Static<typeof VmStats>;

export const Vm = Type.Object({
  id: Type.String(),
  name: Name,
  spec: VmSpec,
  phase: VmPhaseSchema,
  /** Why the VM is in its phase, e.g. QEMU's exit reason when Failed. */
  reason: Type.Optional(Type.String()),
  intent: PowerIntentSchema,
  hostId: Type.Union([Type.String(), Type.Null()]),
  /** Fencing/start epoch: bumped by every start; an agent starts a QEMU at most once per epoch. */
  epoch: Type.Integer({ minimum: 0 }),
  rebootSeq: Type.Integer({ minimum: 0 }),
  forceStop: Type.Boolean(),
  pid: Type.Optional(Type.Integer()),
  guestReadyAt: Type.Optional(IsoTime),
  /** When QMP of the current QEMU first answered, and QEMU's own spawn-to-QMP time (for benchmarks). */
  qmpReadyAt: Type.Optional(IsoTime),
  qemuStartMs: Type.Optional(Type.Number()),
  stats: Type.Optional(VmStats),
  /** What its running QEMU has plugged now; equals spec.cpus/memoryMiB once a resize is carried out. */
  live: Type.Optional(Type.Object({ cpus: Type.Integer(), memoryMiB: Type.Integer() })),
  /** The disks (volume ids) and NICs (net0, net1, ...) its running QEMU has plugged; equal to the spec's once a change is carried out. */
  liveDevices: Type.Optional(Type.Object({ disks: Type.Array(Type.String()), nics: Type.Array(Type.String()) })),
  /** The resource controls its host has in force now (spec.limits as applied), while it runs. */
  appliedLimits: Type.Optional(AppliedLimits),
  /** The forward address of the VM's current host: where its port forwards without an address listen. */
  forwardAddress: Type.Optional(Type.String()),
  /** A live migration under way: its id (see /v1/migrations/:id) and target host. */
  migration: Type.Optional(Type.Object({ id: Type.String(), targetHostId: Type.String(), stage: Type.String() })),
  createdAt: IsoTime,
  updatedAt: IsoTime,
});
export type Vm = Static<typeof Vm>;

/**
 * Fenced: declared dead by HA failover (silent, and its lease expired: it has
 * fenced itself); its HA VMs were restarted elsewhere. Recovering: a Fenced
 * host that reports again, until the VMs that moved away are gone from it
 * (docs/failover.md).
 */
export const HOST_STATES = ['Joining', 'Ready', 'Unreachable', 'Maintenance', 'Standby', 'Left', 'Fenced', 'Recovering'] as const;
export type HostStateName = (typeof HOST_STATES)[number];
export const HostState = Type.Unsafe<HostStateName>(Type.Union(HOST_STATES.map((s) => Type.Literal(s))));
export const HostInventory = Type.Object({
  hostname: Type.String(),
  cpus: Type.Integer(),
  memoryMiB: Type.Integer(),
  /** Held back for the host itself (agent flags --reserve-cpus, --reserve-memory); never given to VMs. Absent (older agents): 0. */
  reservedCpus: Type.Optional(Type.Integer({ minimum: 0, description: 'CPUs held back for the host itself (agent flag --reserve-cpus)' })),
  reservedMemoryMiB: Type.Optional(Type.Integer({ minimum: 0, description: 'MiB held back for the host itself (agent flag --reserve-memory)' })),
  kvm: Type.Boolean(),
  qemuVersion: Type.String(),
  freeDiskBytes: Type.Integer(),
  agentVersion: Type.String(),
  /** Where this host's VMs' port forwards listen when they name no address. */
  forwardAddress: Type.Optional(Type.String()),
  /** The shared storage pool this host mounts: its path and the id written in it (equal ids = the same storage). */
  sharedPool: Type.Optional(Type.Object({ path: Type.String(), id: Type.String(), freeBytes: Type.Integer() })),
  /** The bridge this host's bridged VMs attach to (agent flag --bridge); absent: only user networking here. */
  bridge: Type.Optional(Type.String()),
  /** Kernel Samepage Merging on this host (agent flag --ksm turns it on); absent: the kernel has no KSM. */
  ksm: Type.Optional(Type.Object({
    running: Type.Boolean(),
    savedBytes: Type.Integer({ minimum: 0, description: 'guest memory KSM saves now: pages sharing a merged page (and merged zero pages), in bytes' }),
    pagesShared: Type.Integer({ minimum: 0, description: 'merged pages in use' }),
  })),
});
export type HostInventory = Static<typeof HostInventory>;

/** What HA failover makes of a host now (docs/failover.md); computed when listed, never stored. */
export const HostHaStatus = Type.Object({
  verdict: Type.Unsafe<HostHaVerdict>(Type.Union(HOST_HA_VERDICTS.map((v) => Type.Literal(v)), {
    description: 'alive, isolated (silent, lease renewed: no action), suspected, dead, no-lease (silent, never seen a lease: no action), lease-stale, lease-lost, fenced, not-watched, off (controller without --shared-pool)',
  })),
  reason: Type.String(),
  /** Since its last report, on the controller's clock (ms). */
  heartbeatSilentMs: Type.Optional(Type.Integer({ minimum: 0 })),
  /** How long its lease record has been seen unchanged (ms, the controller's clock). */
  leaseUnchangedMs: Type.Optional(Type.Integer({ minimum: 0 })),
});
export type HostHaStatus = Static<typeof HostHaStatus>;

/** What a host's VMs hold: vCPUs and memory of those that use resources (see src/core/pool-capacity.ts). */
export const HostUsage = Type.Object({
  cpus: Type.Integer({ minimum: 0, description: 'vCPUs allocated to its active VMs' }),
  memoryMiB: Type.Integer({ minimum: 0, description: 'MiB allocated to its active VMs' }),
  vms: Type.Integer({ minimum: 0, description: 'VMs placed on the host, whatever their phase' }),
  activeVms: Type.Integer({ minimum: 0, description: 'of those, the ones that use resources (Pending, Starting, Running, Paused, Stopping)' }),
});
export type HostUsage = Static<typeof HostUsage>;

export const Host = Type.Object({
  id: Type.String(),
  name: Name,
  state: HostState,
  /** Where the controller reaches the agent's own small API (console, logs, images). */
  agentUrl: Type.String(),
  inventory: Type.Optional(HostInventory),
  /** Labels (key=value) VM host rules match (PUT /v1/hosts/:name/labels). */
  labels: Type.Optional(LabelMap),
  lastSeenAt: Type.Optional(IsoTime),
  createdAt: IsoTime,
  /** When HA failover declared it dead (it turned Fenced), and the failover job that restarts its HA VMs. */
  failedAt: Type.Optional(IsoTime),
  failoverJobId: Type.Optional(Type.String()),
  /** Computed when listed, never stored. */
  usage: Type.Optional(HostUsage),
  ha: Type.Optional(HostHaStatus),
});
export type Host = Static<typeof Host>;

export const Image = Type.Object({
  name: Name,
  kind: Type.Union([Type.Literal('kernel'), Type.Literal('disk')]),
  source: Type.Union([Type.Literal('built'), Type.Literal('imported')]),
  diskVirtualSizeBytes: Type.Optional(Type.Integer()),
  kernelVersion: Type.Optional(Type.String()),
  sizeBytes: Type.Integer({ description: 'bytes of all the image files' }),
  hosts: Type.Array(Type.String(), { description: 'ids of the hosts that hold the image' }),
  createdAt: IsoTime,
});
export type Image = Static<typeof Image>;

export const Volume = Type.Object({
  id: Type.String(),
  vmId: Type.String(),
  hostId: Type.String(),
  pool: StoragePoolName,
  role: Type.Union([Type.Literal('boot'), Type.Literal('data')]),
  path: Type.String(),
  format: Type.Literal('qcow2'),
  virtualSizeBytes: Type.Integer(),
  actualSizeBytes: Type.Integer(),
  backingImage: Type.Optional(Name),
});
export type Volume = Static<typeof Volume>;

export const JobStep = Type.Object({
  name: Type.String(),
  state: Type.Union([Type.Literal('pending'), Type.Literal('running'), Type.Literal('done'), Type.Literal('failed'), Type.Literal('undone')]),
  startedAt: Type.Optional(IsoTime),
  endedAt: Type.Optional(IsoTime),
  message: Type.Optional(Type.String()),
});
export type JobStep = Static<typeof JobStep>;

export const JobState = Type.Union([Type.Literal('running'), Type.Literal('succeeded'), Type.Literal('failed'), Type.Literal('rolled-back')]);
export const Job = Type.Object({
  id: Type.String(),
  kind: Type.String({ description: 'vm.create, vm.start, vm.stop, vm.reboot, vm.pause, vm.resume, vm.delete, vm.migrate, host.maintenance, ha.failover, image.build, image.import' }),
  target: Type.String({ description: 'name of the resource the job acts on' }),
  state: JobState,
  steps: Type.Array(JobStep),
  progress: Type.Optional(Type.Object({ done: Type.Number(), total: Type.Number(), message: Type.Optional(Type.String()) })),
  error: Type.Optional(Type.Object({ code: Type.String(), message: Type.String(), field: Type.Optional(Type.String()) })),
  createdAt: IsoTime,
  updatedAt: IsoTime,
});
export type Job = Static<typeof Job>;

export const DroverEvent = Type.Object({
  seq: Type.Integer(),
  at: IsoTime,
  kind: Type.String({ description: 'vm.phase, vm.created, vm.deleted, host.state, job.updated, ...' }),
  resource: Type.String({ description: 'name or id of the resource' }),
  message: Type.String(),
  data: Type.Optional(Type.Unknown()),
});
export type DroverEvent = Static<typeof DroverEvent>;
