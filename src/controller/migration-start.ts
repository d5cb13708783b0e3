// The migration requests: check everything that can be checked before the
// first byte moves (each problem names the field and the fix, and changes
// nothing), choose the target when none is given, then record the migration
// and start its job. Also cancel, and the API view with live progress.
// Targets keep the VM's must-constraints (host rules, groups, capacity): a
// --to host that breaks one is refused with the reason; without --to the
// planner places the VM (taken off its host) among the hosts that can run it.
import { ApiError, ErrorCode } from '../api/errors.js';
import { MigrationLimits, type Migration, type MigrateVmRequest } from '../api/migration.js';
import type { ClusterSnapshot, SnapshotVm } from '../core/planner/index.js';
import { buildClusterSnapshot, withConstraints } from './cluster-snapshot.js';
import type { ControllerContext } from './context.js';
import { newJobId } from './jobs.js';
import { placeOne, refusalOn } from './plan-placement.js';
import type { LiveState } from './live-state.js';
import { hostCapacity } from './host-capacity.js';
import { findPortClash, freeMemoryMiB } from './placement.js';
import { KIND, nowIso, type HostRecord, type ImageRecord, type JobRecord, type MigrationRecord, type VmMigrationState, type VmRecord } from './records.js';
import { createOp, putOp, retryOnConflict } from './state.js';
import { mustFindVm } from './vm-ops.js';
import { nicsProblem } from './vm-network.js';
import { deviceMigrationProblem } from './device-state.js';

export interface ClusterView {
  hosts: HostRecord[];
  vms: VmRecord[];
  images: ImageRecord[];
  usedPorts: (hostId: string) => readonly number[];
  /** The cluster as the planner sees it, constraints included (cluster-snapshot.ts). */
  snapshot: ClusterSnapshot;
}

/** Why `host` cannot run `vm` for a reason the planner does not know (image, storage pool, network, ports), or undefined. */
export function runProblem(vm: VmRecord, host: HostRecord, c: ClusterView): string | undefined {
  const image = c.images.find((i) => i.name === vm.spec.image);
  if (!image?.hosts.includes(host.id)) return `it does not hold image ${vm.spec.image} (build or import it there)`;
  if ((vm.spec.storage ?? 'local') === 'shared') {
    const source = c.hosts.find((h) => h.id === vm.hostId);
    const mine = host.inventory?.sharedPool?.id;
    if (!mine) return 'it has no shared storage pool (agent flag --shared-pool)';
    if (mine !== source?.inventory?.sharedPool?.id) return 'its shared pool is not the same storage as the source\'s (different pool id)';
  }
  const netProblem = nicsProblem(host, vm.spec);
  if (netProblem) return netProblem;
  const clash = findPortClash(vm.spec.ports, host.id, c.vms.filter((v) => v.id !== vm.id), c.usedPorts(host.id));
  if (clash) return clash.message;
  return undefined;
}

/** Why `host` cannot take `vm` now, or undefined when it can (must-constraints aside: see constraintProblem). */
export function targetProblem(vm: VmRecord, host: HostRecord, c: ClusterView): string | undefined {
  if (host.id === vm.hostId) return 'it is the VM\'s current host';
  if (host.state !== 'Ready') return `it is ${host.state}`;
  const free = freeMemoryMiB(host, c.vms);
  if (free < vm.spec.memoryMiB) return `it has ${Math.max(0, free)} MiB of memory free${reservedNote(host)} and the VM needs ${vm.spec.memoryMiB} MiB`;
  return runProblem(vm, host, c);
}

/** ", after N MiB held back for the host itself" when its agent reserves memory. */
function reservedNote(host: HostRecord): string {
  const { reservedMemoryMiB } = hostCapacity(host.inventory);
  return reservedMemoryMiB > 0 ? ` (after ${reservedMemoryMiB} MiB held back for the host itself, agent flag --reserve-memory)` : '';
}

/** The VM as the planner sees it (its host rules, groups, size). */
function subjectOf(vm: VmRecord, c: ClusterView): SnapshotVm {
  return c.snapshot.vms.find((v) => v.id === vm.id) ?? withConstraints({ id: vm.id, name: vm.name, cpus: vm.spec.cpus, memoryMiB: vm.spec.memoryMiB, host: vm.hostId }, vm.spec);
}

/** The must-constraint (host rule, group, capacity) the VM would break on `host`, or undefined. */
export function constraintProblem(vm: VmRecord, host: HostRecord, c: ClusterView): string | undefined {
  return refusalOn(c.snapshot, subjectOf(vm, c), host.id);
}

/**
 * The target: the named host if it can take the VM and keeps its
 * must-constraints (`planned`: a plan chose it under them already), else the
 * host the planner places the VM on, among those that can run it.
 */
export function chooseTarget(vm: VmRecord, to: string | undefined, c: ClusterView, planned = false): HostRecord {
  if (to) {
    const host = c.hosts.find((h) => h.name === to || h.id === to);
    if (!host) throw new ApiError(ErrorCode.notFound, `no host named "${to}"; see \`drover host list\``, 'to');
    const problem = targetProblem(vm, host, c) ?? (planned ? undefined : constraintProblem(vm, host, c));
    if (problem) throw new ApiError(ErrorCode.conflict, `host ${host.name} cannot take VM ${vm.name}: ${problem}`, 'to');
    return host;
  }
  const excluded = new Map<string, string>();
  for (const h of c.hosts) {
    const problem = h.id === vm.hostId ? 'it is the VM\'s current host' : runProblem(vm, h, c);
    if (problem) excluded.set(h.id, problem);
  }
  const placed = placeOne(c.snapshot, subjectOf(vm, c), excluded);
  if ('why' in placed) throw new ApiError(ErrorCode.conflict, `no host can take VM ${vm.name} (${placed.why.text})`, 'to');
  return c.hosts.find((h) => h.id === placed.hostId)!;
}

export async function clusterView(ctx: ControllerContext): Promise<ClusterView> {
  const [hosts, vms, images, groups] = await Promise.all([ctx.state.listHosts(), ctx.state.listVms(), ctx.state.listImages(), ctx.state.listGroups()]);
  const records = { hosts: hosts.map((h) => h.data), vms: vms.map((v) => v.data), groups: groups.map((g) => g.data) };
  const snapshot = buildClusterSnapshot({ ...records, migrations: [], volumes: [], usage: () => ({}), nowMs: Date.now() });
  return { ...records, images: images.map((i) => i.data), usedPorts: (id) => ctx.live.usedPorts.get(id) ?? [], snapshot };
}

export function checkMigrationOptions(vm: VmRecord, req: MigrateVmRequest): void {
  if (vm.migration) throw new ApiError(ErrorCode.conflict, `VM ${vm.name} is already migrating (migration ${vm.migration.id})`);
  if (vm.phase !== 'Running') throw new ApiError(ErrorCode.conflict, `only a Running VM can be live-migrated; ${vm.name} is ${vm.phase}`);
  // The target starts with the spec's vCPU devices: the source must have them plugged too.
  const size = vm.observed?.size;
  if (size && size.cpus !== vm.spec.cpus) throw new ApiError(ErrorCode.conflict, `VM ${vm.name} has ${size.cpus} vCPUs plugged but its spec says ${vm.spec.cpus}: a resize is still being carried out (or the guest refused a vCPU removal); migrate it once \`drover vm show ${vm.name}\` shows them equal`);
  const devices = deviceMigrationProblem(vm);
  if (devices) throw new ApiError(ErrorCode.conflict, devices);
  if (req.strategy === 'postcopy' && req.allowPostcopy === false) throw new ApiError(ErrorCode.invalid, 'strategy postcopy needs allowPostcopy; drop allowPostcopy=false or choose auto or precopy', 'strategy', 'auto, precopy');
  const postcopy = req.allowPostcopy === true || req.strategy === 'postcopy';
  if (postcopy && (vm.spec.storage ?? 'local') === 'local') {
    throw new ApiError(ErrorCode.invalid, 'postcopy needs shared storage: with local storage the disk mirror must finish before the guest may run on the target', 'allowPostcopy', 'false with local storage');
  }
}

/** `planned`: the target came from a plan made under every must-constraint (evacuation), so only the run checks apply. */
export async function startMigration(ctx: ControllerContext, name: string, req: MigrateVmRequest, opts: { planned?: boolean } = {}): Promise<{ vm: VmRecord; job: JobRecord; migration: MigrationRecord }> {
  return retryOnConflict(async () => {
    const found = await ctx.state.findVm(name);
    if (!found) await mustFindVm(ctx.state, name);
    const vm = found!.data;
    checkMigrationOptions(vm, req);
    const c = await clusterView(ctx);
    const target = chooseTarget(vm, req.to, c, opts.planned === true);
    const source = c.hosts.find((h) => h.id === vm.hostId);
    if (!source) throw new ApiError(ErrorCode.conflict, `VM ${vm.name} has no host`);
    const id = `mig-${newJobId()}`;
    const job = ctx.runner.newJob('vm.migrate', vm.name, { vmId: vm.id, migrationId: id });
    const state = migrationState(id, vm, source, target, req);
    const record = migrationRecord(state, vm, source, target, req, job.id);
    const next: VmRecord = { ...vm, migration: state, updatedAt: nowIso() };
    await ctx.state.commit([putOp(KIND.vm, vm.id, next, found!.rev), createOp(KIND.migration, id, record), createOp(KIND.job, job.id, job)]);
    ctx.runner.start(job);
    return { vm: next, job, migration: record };
  });
}

function migrationState(id: string, vm: VmRecord, source: HostRecord, target: HostRecord, req: MigrateVmRequest): VmMigrationState {
  return {
    id, stage: 'queued', sourceHostId: source.id, targetHostId: target.id, sourceEpoch: vm.epoch, targetEpoch: vm.epoch + 1,
    storage: vm.spec.storage ?? 'local', strategy: req.strategy ?? 'auto', maxDowntimeMs: req.maxDowntimeMs ?? MigrationLimits.defaultDowntimeMs,
    ...(req.bandwidthMiBs ? { bandwidthBytes: req.bandwidthMiBs * 1048576 } : {}),
    allowPostcopy: req.allowPostcopy === true || req.strategy === 'postcopy',
    listenHost: new URL(target.agentUrl).hostname.replace(/^\[(.*)\]$/, '$1'),
  };
}

function migrationRecord(m: VmMigrationState, vm: VmRecord, source: HostRecord, target: HostRecord, req: MigrateVmRequest, jobId: string): MigrationRecord {
  const at = nowIso();
  return {
    id: m.id, vmId: vm.id, vm: vm.name, sourceHostId: source.id, targetHostId: target.id, source: source.name, target: target.name,
    storage: m.storage, strategy: m.strategy, maxDowntimeMs: m.maxDowntimeMs, ...(req.bandwidthMiBs ? { bandwidthMiBs: req.bandwidthMiBs } : {}),
    allowPostcopy: m.allowPostcopy, timeoutS: req.timeoutS ?? MigrationLimits.defaultTimeoutS, state: 'queued', path: [], jobId, createdAt: at, updatedAt: at,
  };
}

/** Asks the running migration of the VM to stop; refused once the guest may have run on the target. */
export async function cancelMigration(ctx: ControllerContext, name: string): Promise<MigrationRecord> {
  return retryOnConflict(async () => {
    const found = await ctx.state.findVm(name);
    if (!found) await mustFindVm(ctx.state, name);
    const vm = found!.data;
    const m = vm.migration;
    if (!m) throw new ApiError(ErrorCode.conflict, `VM ${vm.name} is not migrating`);
    if (!['queued', 'prepare', 'transfer'].includes(m.stage) || m.sourceState === 'postcopy' || m.sourceState === 'completed') {
      throw new ApiError(ErrorCode.conflict, `too late to cancel migration ${m.id}: the guest is being handed over to the target (stage ${m.stage})`);
    }
    await ctx.state.commit([putOp(KIND.vm, vm.id, { ...vm, migration: { ...m, cancelRequested: true }, updatedAt: nowIso() }, found!.rev)]);
    const rec = await ctx.state.store.get<MigrationRecord>(KIND.migration, m.id);
    if (!rec) throw new ApiError(ErrorCode.notFound, `migration ${m.id} is not recorded`);
    return rec.data;
  });
}

/** The API view: the stored record, with the live progress of a running migration. */
export function toApiMigration(rec: MigrationRecord, live: LiveState): Migration {
  const { pointOfNoReturn: _p, ...rest } = rec;
  const running = !['completed', 'failed', 'cancelled'].includes(rec.state);
  const l = running ? live.migrations.get(rec.id) : undefined;
  return { ...rest, ...(l?.progress ? { progress: l.progress } : {}), ...(l?.path && l.path.length ? { path: l.path } : {}) };
}
