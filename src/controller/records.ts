// What the controller keeps in the store, by kind. Records are the API
// resources plus the bookkeeping the API does not show.
import type { VmObservedState } from '../core/phase.js';
import type { LiveDevicesReport, LiveSizeReport } from '../api/agent-protocol.js';
import type { PowerDriverName } from '../core/power.js';
import type { Migration, MigrationReportState, MigrationStrategy } from '../api/migration.js';
import type { Host, Image, Job, Vm, Volume } from '../api/resources.js';
import type { BuildImageRequest, ImportImageRequest } from '../api/requests.js';
import type { AppliedLimits } from '../api/limits.js';
import type { PoolCpuSchema, PoolMemorySchema } from '../api/resource-pools.js';

export const KIND = {
  vm: 'vm',
  /** Name → VM id; its create makes a VM name unique even under concurrent requests. */
  vmName: 'vm-name',
  host: 'host',
  hostName: 'host-name',
  image: 'image',
  volume: 'volume',
  job: 'job',
  migration: 'migration',
  /** Cluster automation: its settings (id 'settings') and what its last pass started (id 'pass'). */
  automation: 'automation',
  /** VM groups (affinity, anti-affinity), by name. */
  group: 'group',
  /** Resource pools (docs/resource-pools.md), by name. */
  resourcePool: 'resource-pool',
  /** A host's BMC (power fencing, drover host power), by host id; apart from the host record so the sealed password is never listed with hosts. */
  hostPower: 'host-power',
} as const;

export interface VmObserved {
  state: VmObservedState;
  epoch: number;
  rebootSeq: number;
  /** vCPUs and memory its running QEMU has plugged (hot-add follows the spec). */
  size?: LiveSizeReport;
  /** The resource controls in force on its running QEMU. */
  limits?: AppliedLimits;
  /** Disks and NICs its running QEMU has plugged (hot-add follows the spec). */
  devices?: LiveDevicesReport;
}

/** Where a VM's live migration stands; the assignments of both hosts follow from it (see migration-assign.ts). */
export interface VmMigrationState {
  id: string;
  stage: 'queued' | 'prepare' | 'transfer' | 'switchover' | 'release-source' | 'abort';
  /** When the guest was ready on the source (kept at the switchover: the target never sees the guest boot). */
  guestReadyAt?: string;
  sourceHostId: string;
  targetHostId: string;
  /** The source QEMU's start epoch, and the target's (a new one: every QEMU start gets its own fencing token). */
  sourceEpoch: number;
  targetEpoch: number;
  storage: 'local' | 'shared';
  strategy: MigrationStrategy;
  maxDowntimeMs: number;
  bandwidthBytes?: number;
  allowPostcopy: boolean;
  /** Reported by the target once it listens. */
  targetUri?: string;
  nbd?: { host: string; port: number };
  /** Where the target agent listens (its address). */
  listenHost: string;
  /** The last state each side reported. */
  sourceState?: MigrationReportState;
  targetState?: MigrationReportState;
  sourceError?: string;
  targetError?: string;
  /** The source confirmed that nothing of the VM is left there (after 'released'), or the target after an abort. */
  sourceGone?: boolean;
  targetGone?: boolean;
  cancelRequested?: boolean;
}

export interface MigrationRecord extends Migration {
  /** Set once the guest ran on the target (postcopy or switchover): from then on the source cannot take it back. */
  pointOfNoReturn?: boolean;
}

export interface VmRecord extends Omit<Vm, 'stats' | 'migration'> {
  migration?: VmMigrationState;
  /** What the host agent last reported of this VM. */
  observed?: VmObserved;
  /** A rolled-back create asked the agent to remove it (its assignment says 'absent'). */
  removing?: boolean;
  /** The agent confirmed, after it was told 'absent', that nothing of the VM is left. */
  gone?: boolean;
  /** An assignment the agent could not carry out (bad image, no space). */
  agentError?: string;
  /**
   * Hosts that may still hold an old QEMU of it: HA failover restarted it
   * elsewhere. Each is handed the VM as 'released' until its report shows the
   * VM gone (docs/failover.md, "A host that comes back").
   */
  staleOn?: string[];
}

/** What HA failover did with one VM of a dead host (job params, and the job's outcome lines). */
export type HaVmOutcome =
  | { restarted: true; hostId: string; host: string; epoch: number; started: boolean }
  | { restarted: false; reason: string };

export interface HostRecord extends Host {
  /** sha256 of the agent's credential; the credential itself is derived, never stored (see secrets.ts). */
  credentialHash: string;
  /** Bumped by every join, so a re-join gets a new credential and the old one stops working. */
  credentialGeneration: number;
}

/** A host's BMC as stored (docs/operations.md, "Power fencing (BMC)"). */
export interface HostPowerRecord {
  hostId: string;
  driver: PowerDriverName;
  /** Normalised by checkPowerSettings (src/core/power.ts). */
  address: string;
  username: string;
  /** redfish over https: accept a self-signed certificate. */
  insecure: boolean;
  /** The BMC password, encrypted (sealSecret in secrets.ts); never returned by the API. */
  passwordSealed: string;
  createdAt: string;
  updatedAt: string;
}

/** A VM group as stored: its members by VM id (names may change hands, ids do not). */
export interface GroupRecord {
  name: string;
  kind: 'affinity' | 'anti-affinity';
  strength: 'must' | 'should';
  vmIds: string[];
  createdAt: string;
  updatedAt: string;
}

/** A resource pool as stored; its VMs name it in spec.resourcePool. */
export interface ResourcePoolRecord {
  name: string;
  parent?: string;
  cpu: PoolCpuSchema;
  memory: PoolMemorySchema;
  createdAt: string;
  updatedAt: string;
}

export type ImageRecord = Image;
export type VolumeRecord = Volume;

/** Per-kind inputs and progress markers of a job, persisted with it. */
export interface JobParams {
  vmId?: string;
  /** vm.create: start the VM once its volumes exist. */
  start?: boolean;
  force?: boolean;
  /** The desired state of this job was written (with any targets below, in the same commit). */
  requested?: boolean;
  targetEpoch?: number;
  targetRebootSeq?: number;
  /** A failed job is undoing what it did; a restart resumes the rollback. */
  rollingBack?: boolean;
  hostIds?: string[];
  build?: BuildImageRequest;
  import?: ImportImageRequest;
  migrationId?: string;
  /** host.maintenance: VM id → the migration started for it. */
  migrationIds?: Record<string, string>;
  /** vm.migrate: the VM's migration record was committed. */
  migrationSet?: boolean;
  /** ha.failover: the dead host's HA VMs in restart order (priority), fixed when the job is created. */
  haVmIds?: string[];
  /** ha.failover: their names (for the outcome lines, also once a VM is deleted). */
  haVmNames?: Record<string, string>;
  /** ha.failover: what became of each, committed with the VM's own change. */
  haOutcomes?: Record<string, HaVmOutcome>;
  /** ha.failover: the VMs seen Running on their new host (or why not), after the restarts. */
  haConfirmed?: Record<string, string>;
  /** vm.resize: the size asked for, and the size before (a failed resize goes back to it). */
  resize?: { cpus: number; memoryMiB: number };
  resizeFrom?: { cpus: number; memoryMiB: number };
  /** vm.resize --migrate: the host it moves to first (its migration id goes in migrationId). */
  resizeMigrateTo?: string;
  /** vm.disk-add, vm.disk-remove, vm.nic-add, vm.nic-remove: the VM's disk and NIC fields before and after (a failed change goes back). */
  devices?: { summary: string; live: boolean; from: DeviceSpecFields; to: DeviceSpecFields };
}

/** The fields of a VM spec a disk or NIC change writes. */
export type DeviceSpecFields = Pick<Vm['spec'], 'volumes' | 'nics' | 'rootPorts'>;

export interface JobRecord extends Job {
  params: JobParams;
}

export function nowIso(): string {
  return new Date().toISOString();
}
