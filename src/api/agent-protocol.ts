// The protocol between a host agent and the controller. The agent pulls its
// assignments (desired state) and pushes reports (observed state); the
// controller never tells an agent to run a QMP command (design principle 3).
import { Type, type Static } from 'typebox';
import type { VmObservedState } from '../core/phase.js';
import { MigrationAssignment, MigrationReport } from './migration.js';
export type { MigrationAssignment, MigrationReport } from './migration.js';
import { HostInventory, Name, PowerIntentSchema, VmSpec, VmStats } from './resources.js';
import { AppliedLimits } from './limits.js';
import { BalloonDecisionsReport } from './balloon.js';

export const JoinRequest = Type.Object({
  joinToken: Type.String({ minLength: 1 }),
  name: Name,
  agentUrl: Type.String({ description: 'http://ADDR:PORT where the controller reaches this agent' }),
  inventory: HostInventory,
});
export const JoinResponse = Type.Object({
  hostId: Type.String(),
  /** The agent's own credential: it authenticates the agent to the controller and the controller to the agent. */
  credential: Type.String(),
});
export type JoinRequest = Static<typeof JoinRequest>;
export type JoinResponse = Static<typeof JoinResponse>;

export const VmAssignment = Type.Object({
  id: Type.String(),
  name: Name,
  spec: VmSpec,
  /**
   * 'absent': stop it and delete its volumes. 'released': it runs elsewhere now
   * (migrated away, or an aborted migration target): stop it, delete its
   * local volumes, keep shared ones.
   */
  power: Type.Union([PowerIntentSchema, Type.Literal('absent'), Type.Literal('released')]),
  epoch: Type.Integer({ minimum: 0 }),
  rebootSeq: Type.Integer({ minimum: 0 }),
  forceStop: Type.Boolean(),
  migration: Type.Optional(MigrationAssignment),
  /** Its resource pool when that has CPU shares: the host puts the VM's cgroup below a group of the pool with this CPU weight (docs/resource-pools.md). */
  resourcePool: Type.Optional(Type.Object({ name: Name, cpuWeight: Type.Integer({ minimum: 1, maximum: 10_000, description: "the pool's CPU shares as a cgroup weight (shares / 10)" }) })),
  /** Its resource pool's memory shares when the pool sets them: the host's balloon policy takes memory from low shares first. */
  memoryShares: Type.Optional(Type.Integer({ minimum: 1, maximum: 1_000_000 })),
});
export type VmAssignment = Static<typeof VmAssignment>;

export const AssignmentsQuery = Type.Object({
  /** Return at once when the assignments' revision differs; else wait up to waitMs for a change. */
  since: Type.Optional(Type.Integer({ minimum: 0 })),
  waitMs: Type.Optional(Type.Integer({ minimum: 0, maximum: 60000 })),
});
export const AssignmentsResponse = Type.Object({ revision: Type.Integer(), vms: Type.Array(VmAssignment) });
export type AssignmentsResponse = Static<typeof AssignmentsResponse>;

const OBSERVED_STATES: readonly VmObservedState[] = ['absent', 'starting', 'running', 'paused', 'stopping', 'stopped', 'crashed'];
// Type.Unsafe: same JSON schema, but the static type is the literal union (a union of a mapped array is `never`).
export const ObservedState = Type.Unsafe<VmObservedState>(Type.Union(OBSERVED_STATES.map((s) => Type.Literal(s))));

export const VolumeReport = Type.Object({
  id: Type.String(),
  path: Type.String(),
  virtualSizeBytes: Type.Integer(),
  actualSizeBytes: Type.Integer(),
});
export type VolumeReport = Static<typeof VolumeReport>;

export const LiveSizeReport = Type.Object({
  cpus: Type.Integer({ minimum: 1, description: 'vCPUs plugged' }),
  memoryMiB: Type.Integer({ minimum: 1, description: 'memory plugged: boot memory plus virtio-mem' }),
  /** Memory asked of virtio-mem (boot memory included); the guest plugs or unplugs towards it. */
  requestedMemoryMiB: Type.Optional(Type.Integer({ minimum: 1 })),
  /** The plugged memory has not moved towards the requested size for a while: the guest cannot give back memory it uses (or cannot plug more). */
  memoryStalled: Type.Optional(Type.Boolean()),
  /** Why the last change of size could not be carried out (QEMU refused it). */
  error: Type.Optional(Type.String()),
});
export type LiveSizeReport = Static<typeof LiveSizeReport>;

export const LiveDevicesReport = Type.Object({
  disks: Type.Array(Type.String(), { description: 'QEMU device ids of the disks plugged (src/core/device-layout.ts)' }),
  nics: Type.Array(Type.String(), { description: 'QEMU device ids of the NICs plugged (net0, net1, ...)' }),
  /** Why the last change of devices could not be carried out (QEMU refused it). */
  error: Type.Optional(Type.String()),
});
export type LiveDevicesReport = Static<typeof LiveDevicesReport>;

export const VmReport = Type.Object({
  id: Type.String(),
  state: ObservedState,
  /** The epoch of the QEMU observed (or last run); 0 when none was started. */
  epoch: Type.Integer({ minimum: 0 }),
  rebootSeq: Type.Integer({ minimum: 0, description: 'the last reboot request carried out' }),
  pid: Type.Optional(Type.Integer()),
  reason: Type.Optional(Type.String({ description: 'why it stopped or failed, with QEMU stderr tail' })),
  guestReadyAt: Type.Optional(Type.String()),
  /** When QMP of the current QEMU first answered (ISO), and how long QEMU itself took from spawn to that. */
  qmpReadyAt: Type.Optional(Type.String()),
  qemuStartMs: Type.Optional(Type.Number()),
  stats: Type.Optional(VmStats),
  volumes: Type.Array(VolumeReport),
  /** An assignment the agent could not carry out (bad image, no space): the controller fails the job. */
  error: Type.Optional(Type.String()),
  migration: Type.Optional(MigrationReport),
  /** What its running QEMU has plugged now (hot-add and hot-remove follow spec.cpus and spec.memoryMiB). */
  size: Type.Optional(LiveSizeReport),
  /** The disks and NICs its running QEMU has plugged (hot-add and hot-remove follow the spec's). */
  devices: Type.Optional(LiveDevicesReport),
  /** The resource controls in force (spec.limits), read back from its cgroup and QEMU; absent when it has none. */
  limits: Type.Optional(AppliedLimits),
});
export type VmReport = Static<typeof VmReport>;

export const ImageReport = Type.Object({
  name: Name,
  kind: Type.Union([Type.Literal('kernel'), Type.Literal('disk')]),
  source: Type.Union([Type.Literal('built'), Type.Literal('imported')]),
  diskVirtualSizeBytes: Type.Optional(Type.Integer()),
  kernelVersion: Type.Optional(Type.String()),
  sizeBytes: Type.Integer(),
  createdAt: Type.String(),
});
export type ImageReport = Static<typeof ImageReport>;

/** The host's self-fencing (docs/ha.md): its fencer, its lease, and the HA VMs it killed. */
export const HostHaReport = Type.Object({
  /** A fencer renews this host's lease (off: agent flag --no-ha, or no shared pool); HA VMs start only while the lease is fresh. */
  enabled: Type.Boolean(),
  /** Why HA is off, or why the lease is not fresh. */
  reason: Type.Optional(Type.String()),
  leaseFresh: Type.Boolean(),
  /** Since the start of the fencer's last renewal that ended in time (ms, on this host's clock). */
  lastRenewalAgeMs: Type.Optional(Type.Number()),
  fencerPid: Type.Optional(Type.Integer()),
  /** QEMUs of HA VMs the fencer killed because the lease lapsed (latest last). */
  fenced: Type.Array(Type.Object({ vmId: Type.String(), pid: Type.Integer(), at: Type.String(), gone: Type.Boolean() })),
});
export type HostHaReport = Static<typeof HostHaReport>;

export const HostReport = Type.Object({
  inventory: HostInventory,
  vms: Type.Array(VmReport),
  images: Type.Array(ImageReport),
  /** Host ports the agent's VMs forward, so the controller can refuse clashes. */
  usedPorts: Type.Optional(Type.Array(Type.Integer())),
  ha: Type.Optional(HostHaReport),
  /** The automatic balloon's changes the controller has not acknowledged yet (src/api/balloon.ts). */
  balloon: Type.Optional(BalloonDecisionsReport),
});
export type HostReport = Static<typeof HostReport>;

/** Line-delimited JSON the agent streams while it builds or imports an image. */
export const ImageProgressLine = Type.Union([
  Type.Object({ type: Type.Literal('progress'), step: Type.String(), done: Type.Number(), total: Type.Number(), message: Type.Optional(Type.String()) }),
  Type.Object({ type: Type.Literal('done'), image: ImageReport }),
  Type.Object({ type: Type.Literal('error'), message: Type.String(), field: Type.Optional(Type.String()) }),
]);
export type ImageProgressLine = Static<typeof ImageProgressLine>;

/** The agent's own API paths (the controller calls them with the host credential). */
export const AGENT_PATHS = {
  serialLog: '/agent/v1/vms/:id/serial',
  console: '/agent/v1/vms/:id/console',
  buildImage: '/agent/v1/images/build',
  importImage: '/agent/v1/images/import',
  checkPorts: '/agent/v1/ports/check',
  health: '/agent/v1/health',
} as const;

/** The controller asks the agent which host ports are already taken before it accepts a VM. */
export const CheckPortsRequest = Type.Object({ ports: Type.Array(Type.Object({ hostAddress: Type.String(), hostPort: Type.Integer(), proto: Type.Union([Type.Literal('tcp'), Type.Literal('udp')]) })) });
export const CheckPortsResponse = Type.Object({ busy: Type.Array(Type.Integer()) });
export type CheckPortsRequest = Static<typeof CheckPortsRequest>;
export type CheckPortsResponse = Static<typeof CheckPortsResponse>;
