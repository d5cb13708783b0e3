// The live cluster as a planner snapshot (src/core/planner/snapshot.ts), for
// the automation loop and for GET /v1/snapshot (`drover snapshot`): hosts in
// Ready, Maintenance and Standby that reported an inventory; the VMs that
// hold resources, with their measured use where the agents report it; VMs in
// a live migration marked in flight (counted on both hosts, never moved
// again); when each VM last finished a migration, for the cooldown; each
// VM's maxCpus and when it was last resized (a resize under way counts as
// now), for goal grow.
// Hosts carry what their agent holds back for the host itself
// (reservedCpus, reservedMemoryMiB, host-capacity.ts) when it is not 0.
// The constraints come along: host labels, each VM's HA flag, priority and
// host rules, and the groups (by name) with their members that are in it;
// the resource pools (by name) with each VM's pool.
// Placement, migration targets and evacuation (plan-placement.ts) start from
// this same snapshot.
import type { HostStateName, VmSpec } from '../api/resources.js';
import type { ClusterSnapshot, PlannerPolicy, SnapshotGroup, SnapshotHost, SnapshotPool, SnapshotVm } from '../core/planner/index.js';
import { usesResources } from '../core/pool-capacity.js';
import type { ControllerContext } from './context.js';
import { hostCapacity } from './host-capacity.js';
import { KIND, type GroupRecord, type HostRecord, type JobRecord, type MigrationRecord, type ResourcePoolRecord, type VmRecord, type VolumeRecord } from './records.js';

const HOST_STATES: Partial<Record<HostStateName, SnapshotHost['state']>> = { Ready: 'ready', Maintenance: 'maintenance', Standby: 'standby' };
const MIB = 1024 ** 2;
const GIB = 1024 ** 3;

/** What the agents last measured of a VM: cores busy and resident memory. */
export interface VmUsage {
  cpuCores?: number;
  rssBytes?: number;
}

export interface SnapshotSources {
  hosts: readonly HostRecord[];
  vms: readonly VmRecord[];
  migrations: readonly MigrationRecord[];
  volumes: readonly VolumeRecord[];
  groups?: readonly GroupRecord[];
  pools?: readonly ResourcePoolRecord[];
  /** Jobs (only vm.resize ones are read): when each VM was last resized. */
  jobs?: readonly JobRecord[];
  usage: (vm: VmRecord) => VmUsage;
  nowMs: number;
  policy?: PlannerPolicy;
}

function snapshotHost(h: HostRecord): SnapshotHost | undefined {
  const state = HOST_STATES[h.state];
  if (!state || !h.inventory) return undefined;
  const { cpus, memoryMiB, reservedCpus, reservedMemoryMiB } = hostCapacity(h.inventory);
  const out: SnapshotHost = { id: h.id, name: h.name, cpus, memoryMiB, state };
  if (reservedCpus > 0) out.reservedCpus = reservedCpus;
  if (reservedMemoryMiB > 0) out.reservedMemoryMiB = reservedMemoryMiB;
  if (h.labels && Object.keys(h.labels).length > 0) out.labels = { ...h.labels };
  return out;
}

/** VM id → when its latest completed migration ended (ms). */
function lastMoves(migrations: readonly MigrationRecord[]): Map<string, number> {
  const out = new Map<string, number>();
  for (const m of migrations) {
    if (m.state !== 'completed') continue;
    const at = Date.parse(m.updatedAt);
    if (Number.isFinite(at) && at > (out.get(m.vmId) ?? -Infinity)) out.set(m.vmId, at);
  }
  return out;
}

/** VM id → when its latest resize ended (ms), whatever its outcome (a failed one is not retried at once); one still running counts as now. */
function lastResizes(jobs: readonly JobRecord[], nowMs: number): Map<string, number> {
  const out = new Map<string, number>();
  for (const j of jobs) {
    const vmId = j.params.vmId;
    if (j.kind !== 'vm.resize' || typeof vmId !== 'string') continue;
    const at = j.state === 'running' ? nowMs : Date.parse(j.updatedAt);
    if (Number.isFinite(at) && at > (out.get(vmId) ?? -Infinity)) out.set(vmId, at);
  }
  return out;
}

/** VM id → GiB its local-pool volumes hold (what a migration must mirror). */
function localDisk(volumes: readonly VolumeRecord[]): Map<string, number> {
  const out = new Map<string, number>();
  for (const v of volumes) if (v.pool === 'local') out.set(v.vmId, (out.get(v.vmId) ?? 0) + v.actualSizeBytes / GIB);
  return out;
}

function snapshotVm(v: VmRecord, usage: VmUsage, lastMovedAtMs: number | undefined, diskGiB: number | undefined, lastResizedAtMs?: number): SnapshotVm {
  const vm: SnapshotVm = { id: v.id, name: v.name, cpus: v.spec.cpus, memoryMiB: v.spec.memoryMiB, host: v.hostId };
  if (v.spec.maxCpus > v.spec.cpus) vm.maxCpus = v.spec.maxCpus;
  if (lastResizedAtMs !== undefined) vm.lastResizedAtMs = lastResizedAtMs;
  if (usage.cpuCores !== undefined) vm.cpuUsage = Math.round(Math.min(v.spec.cpus, Math.max(0, usage.cpuCores)) * 1000) / 1000;
  if (usage.rssBytes !== undefined) vm.memoryUsageMiB = Math.min(v.spec.memoryMiB, Math.round(usage.rssBytes / MIB));
  if (diskGiB !== undefined && diskGiB > 0) vm.localDiskGiB = Math.round(diskGiB * 1000) / 1000;
  if (lastMovedAtMs !== undefined) vm.lastMovedAtMs = lastMovedAtMs;
  if (v.migration && v.migration.targetHostId !== v.hostId) vm.migratingTo = v.migration.targetHostId;
  if (v.spec.resourcePool !== undefined) vm.pool = v.spec.resourcePool;
  return withConstraints(vm, v.spec);
}

/** The VM's own constraints from its spec: HA flag and priority, host rules. */
export function withConstraints(vm: SnapshotVm, spec: Pick<VmSpec, 'ha' | 'haPriority' | 'hostRules'>): SnapshotVm {
  if (spec.ha) vm.ha = true;
  if (spec.haPriority) vm.priority = spec.haPriority;
  if (spec.hostRules && spec.hostRules.length > 0) vm.hostRules = spec.hostRules.map((r) => ({ labels: { ...r.labels }, strength: r.strength }));
  return vm;
}

/** The groups with their members that are in the snapshot; each member VM lists its groups too. */
function snapshotGroups(groups: readonly GroupRecord[], vms: SnapshotVm[]): SnapshotGroup[] {
  const byId = new Map(vms.map((v) => [v.id, v]));
  return groups.map((g) => {
    const members = g.vmIds.filter((id) => byId.has(id));
    for (const id of members) {
      const vm = byId.get(id)!;
      vm.groups = [...(vm.groups ?? []), g.name];
    }
    return { id: g.name, kind: g.kind, strength: g.strength, vms: members };
  });
}

/** A pool's reservations and limits (shares are the hosts' business, not the planner's). */
function snapshotPool(p: ResourcePoolRecord): SnapshotPool {
  const { reservationCores, limitCores } = p.cpu;
  const { reservationMiB, limitMiB } = p.memory;
  const cpu = { ...(reservationCores !== undefined ? { reservationCores } : {}), ...(limitCores !== undefined ? { limitCores } : {}) };
  const memory = { ...(reservationMiB !== undefined ? { reservationMiB } : {}), ...(limitMiB !== undefined ? { limitMiB } : {}) };
  return { id: p.name, ...(p.parent !== undefined ? { parent: p.parent } : {}), ...(Object.keys(cpu).length ? { cpu } : {}), ...(Object.keys(memory).length ? { memory } : {}) };
}

/** Pure: the snapshot of the given records (ordered as given). */
export function buildClusterSnapshot(src: SnapshotSources): ClusterSnapshot {
  const moved = lastMoves(src.migrations);
  const disk = localDisk(src.volumes);
  const resized = lastResizes(src.jobs ?? [], src.nowMs);
  const out: ClusterSnapshot = { nowMs: src.nowMs, hosts: src.hosts.flatMap((h) => snapshotHost(h) ?? []), vms: [] };
  for (const v of src.vms) {
    if (!usesResources(v.phase)) continue;
    out.vms.push(snapshotVm(v, src.usage(v), moved.get(v.id), disk.get(v.id), resized.get(v.id)));
  }
  if (src.groups && src.groups.length > 0) out.groups = snapshotGroups(src.groups, out.vms);
  if (src.pools && src.pools.length > 0) out.pools = src.pools.map(snapshotPool);
  if (src.policy) out.policy = src.policy;
  return out;
}

/** The snapshot of the cluster now, from the store and the agents' latest reports. */
export async function liveClusterSnapshot(ctx: ControllerContext, nowMs: number, policy?: PlannerPolicy): Promise<ClusterSnapshot> {
  const [hosts, vms, migrations, volumes, groups, jobs, pools] = await Promise.all([
    ctx.state.listHosts(), ctx.state.listVms(), ctx.state.store.list<MigrationRecord>(KIND.migration), ctx.state.listVolumes(), ctx.state.listGroups(), ctx.state.listJobs(),
    ctx.state.store.list<ResourcePoolRecord>(KIND.resourcePool),
  ]);
  const usage = (v: VmRecord): VmUsage => {
    const stats = ctx.live.vmStats(v.hostId, v.id);
    const cpuCores = ctx.live.vmCpuRate(v.hostId, v.id);
    return { ...(cpuCores !== undefined ? { cpuCores } : {}), ...(stats ? { rssBytes: stats.rssBytes } : {}) };
  };
  return buildClusterSnapshot({
    hosts: hosts.map((h) => h.data), vms: vms.map((v) => v.data), migrations: migrations.map((m) => m.data), volumes: volumes.map((v) => v.data),
    groups: groups.map((g) => g.data), jobs: jobs.map((j) => j.data), pools: pools.map((p) => p.data), usage, nowMs, ...(policy ? { policy } : {}),
  });
}
