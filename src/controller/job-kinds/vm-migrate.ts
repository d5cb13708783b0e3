// vm.migrate: the controller's side of a live migration. Each step writes the
// next stage into the VM's migration state (the two agents act on it, see
// migration-assign.ts) and waits for their reports. Every step is recorded,
// so a controller restart resumes where it stopped. A failure before the
// guest ran on the target rolls back: the source keeps (or gets back) the guest
// and the target is released.
import { ApiError, ErrorCode } from '../../api/errors.js';
import { migrationEvent } from '../events.js';
import type { JobKind, StepContext } from '../jobs.js';
import { KIND, nowIso, type MigrationRecord, type VmMigrationState, type VmRecord } from '../records.js';
import type { LiveState } from '../live-state.js';
import { putOp, retryOnConflict } from '../state.js';
import { vmIdOf, waitVm } from './vm-steps.js';

export interface MigrationTimeouts {
  prepareMs: number;
  switchoverMs: number;
  releaseMs: number;
  abortMs: number;
  targetCleanupMs: number;
  /** Migrations a host takes part in at once (source or target); the rest queue. */
  perHost: number;
}

export const DEFAULT_MIGRATION_TIMEOUTS: MigrationTimeouts = { prepareMs: 120_000, switchoverMs: 60_000, releaseMs: 120_000, abortMs: 90_000, targetCleanupMs: 10_000, perHost: 2 };

export function vmMigrateKind(t: MigrationTimeouts, live: LiveState): JobKind {
  return {
    kind: 'vm.migrate',
    steps: () => [
      { name: 'queue', run: (ctx) => queue(ctx, t) },
      { name: 'prepare-target', run: (ctx) => prepareTarget(ctx, t) },
      { name: 'transfer', run: (ctx) => transfer(ctx) },
      { name: 'switchover', run: (ctx) => switchover(ctx, t) },
      { name: 'release-source', run: (ctx) => releaseSource(ctx, t, live) },
    ],
    rollback: (ctx) => abort(ctx, t, live),
  };
}

function migrationIdOf(ctx: StepContext): string {
  const id = ctx.job.params.migrationId;
  if (!id) throw new Error(`job ${ctx.job.id} has no migrationId`);
  return id;
}

/** Commits a change of the VM's migration state (and of the VM), with the migration record's. */
export async function advance(ctx: StepContext, vmChange: (vm: VmRecord, m: VmMigrationState) => Partial<VmRecord>, record: Partial<MigrationRecord>): Promise<void> {
  await retryOnConflict(async () => {
    const vm = await ctx.state.mustGetVm(vmIdOf(ctx));
    const m = vm.data.migration;
    if (!m || m.id !== migrationIdOf(ctx)) throw new ApiError(ErrorCode.conflict, `the migration of ${vm.data.name} is no longer recorded`);
    const nextVm: VmRecord = { ...vm.data, ...vmChange(vm.data, m), updatedAt: nowIso() };
    const rec = await ctx.state.store.get<MigrationRecord>(KIND.migration, m.id);
    if (!rec) throw new Error(`migration record ${m.id} is missing`);
    const nextRec: MigrationRecord = { ...rec.data, ...record, updatedAt: nowIso() };
    await ctx.state.commit([putOp(KIND.vm, vm.id, nextVm, vm.rev), putOp(KIND.migration, m.id, nextRec, rec.rev)], [migrationEvent(nextRec)]);
  });
}

function stage(s: VmMigrationState['stage']): (vm: VmRecord, m: VmMigrationState) => Partial<VmRecord> {
  return (_vm, m) => ({ migration: { ...m, stage: s } });
}

/** Waits on the VM's migration state; `done` may throw to fail the job. */
function waitMigration(ctx: StepContext, what: string, timeoutMs: number, done: (m: VmMigrationState, vm: VmRecord) => boolean): Promise<void> {
  const id = migrationIdOf(ctx);
  return waitVm(ctx, what, timeoutMs, (vm) => {
    const m = vm.migration;
    if (!m || m.id !== id) throw new ApiError(ErrorCode.conflict, `the migration of ${vm.name} is no longer recorded`);
    if (m.cancelRequested && (m.stage === 'queued' || m.stage === 'prepare' || m.stage === 'transfer')) throw new ApiError(ErrorCode.conflict, 'cancelled on request');
    return done(m, vm);
  });
}

async function queue(ctx: StepContext, t: MigrationTimeouts): Promise<void> {
  const id = migrationIdOf(ctx);
  await ctx.state.changes.waitUntil(async () => {
    const vms = (await ctx.state.listVms()).map((v) => v.data);
    const me = vms.find((v) => v.migration?.id === id)?.migration;
    if (!me) throw new ApiError(ErrorCode.conflict, 'the migration is no longer recorded');
    if (me.cancelRequested) throw new ApiError(ErrorCode.conflict, 'cancelled on request');
    if (me.stage !== 'queued') return true;
    return mayStart(me, vms, t.perHost) ? true : undefined;
  }, 24 * 3600_000, `${ctx.job.target} to leave the migration queue`, ctx.signal);
  await advance(ctx, (_vm, m) => ({ migration: { ...m, stage: m.stage === 'queued' ? 'prepare' : m.stage } }), { state: 'preparing', message: undefined });
}

/** Starts when both hosts have a free migration slot and no older queued migration of theirs waits. */
export function mayStart(me: VmMigrationState, vms: readonly VmRecord[], perHost: number): boolean {
  const hosts = [me.sourceHostId, me.targetHostId];
  const involves = (m: VmMigrationState) => hosts.includes(m.sourceHostId) || hosts.includes(m.targetHostId);
  const others = vms.flatMap((v) => (v.migration && v.migration.id !== me.id && involves(v.migration) ? [v.migration] : []));
  const busy = (h: string) => others.filter((m) => m.stage !== 'queued' && (m.sourceHostId === h || m.targetHostId === h)).length;
  if (hosts.some((h) => busy(h) >= perHost)) return false;
  return !others.some((m) => m.stage === 'queued' && m.id < me.id);
}

async function prepareTarget(ctx: StepContext, t: MigrationTimeouts): Promise<void> {
  await waitMigration(ctx, 'target to listen for the migration', t.prepareMs, (m) => {
    if (m.targetState === 'failed') throw new ApiError(ErrorCode.unavailable, `the target could not prepare: ${m.targetError ?? 'see its agent log'}`);
    return m.stage !== 'prepare' || (m.targetState === 'listening' && m.targetUri !== undefined);
  });
  await advance(ctx, (_vm, m) => ({ migration: { ...m, stage: m.stage === 'prepare' ? 'transfer' : m.stage } }), { state: 'transferring' });
}

async function transfer(ctx: StepContext): Promise<void> {
  const rec = await ctx.state.store.get<MigrationRecord>(KIND.migration, migrationIdOf(ctx));
  const timeoutMs = (rec?.data.timeoutS ?? 600) * 1000;
  await waitMigration(ctx, `migration to complete within ${timeoutMs / 1000} s`, timeoutMs, (m) => {
    if (m.sourceState === 'failed' || m.sourceState === 'cancelled') throw new ApiError(ErrorCode.unavailable, `the migration failed on the source: ${m.sourceError ?? 'see its agent log'}`);
    if (m.targetState === 'failed' && m.sourceState !== 'completed') throw new ApiError(ErrorCode.unavailable, `the target failed: ${m.targetError ?? 'see its agent log'}`);
    return m.stage !== 'transfer' || m.sourceState === 'completed';
  }).catch(async (err: unknown) => {
    // Past postcopy's start the guest runs on the target: there is no going back, only forward.
    if ((await currentMigration(ctx))?.sourceState === 'postcopy') await advance(ctx, () => ({}), { pointOfNoReturn: true });
    throw err;
  });
}

async function switchover(ctx: StepContext, t: MigrationTimeouts): Promise<void> {
  await advance(ctx, (vm, m) => (m.stage === 'transfer'
    ? { hostId: m.targetHostId, epoch: m.targetEpoch, pid: undefined, migration: { ...m, stage: 'switchover', ...(vm.guestReadyAt ? { guestReadyAt: vm.guestReadyAt } : {}) } }
    : {}), { state: 'switching-over' });
  await waitMigration(ctx, 'to run on the target', t.switchoverMs, (m, vm) => {
    if (vm.phase === 'Failed') throw new ApiError(ErrorCode.unavailable, `the target QEMU failed at switchover: ${vm.reason ?? 'see its agent log'}`);
    return m.targetState === 'switched-over';
  });
  await advance(ctx, () => ({}), { pointOfNoReturn: true });
}

async function releaseSource(ctx: StepContext, t: MigrationTimeouts, liveState: LiveState): Promise<void> {
  // Run again after a crash that came after its last commit: the migration already ended, as completed.
  if (await endedAs(ctx, 'completed')) return;
  await advance(ctx, stage('release-source'), { state: 'cleaning-up' });
  // The guest runs on the target; a source that does not confirm its cleanup (host down) is not a failure of the migration.
  const gone = await ctx.state.changes.waitUntil(async () => ((await currentMigration(ctx))?.sourceGone ? true : undefined), t.releaseMs, 'source cleanup', ctx.signal).then(() => true, () => false);
  const live = liveResult(ctx, liveState);
  await advance(ctx, () => ({ migration: undefined }), {
    state: 'completed', ...live, message: gone ? undefined : 'the source host did not confirm its cleanup; its agent removes the old copy when it reports again',
  });
}

async function abort(ctx: StepContext, t: MigrationTimeouts, liveState: LiveState): Promise<void> {
  const m = await currentMigration(ctx);
  const rec = await ctx.state.store.get<MigrationRecord>(KIND.migration, migrationIdOf(ctx));
  if (!m || !rec) return;
  const cancelled = m.cancelRequested === true;
  if (rec.data.pointOfNoReturn) return lost(ctx, rec.data);
  await advance(ctx, (_vm, cur) => ({ hostId: cur.sourceHostId, epoch: cur.sourceEpoch, migration: { ...cur, stage: 'abort' } }), {});
  await waitMigration(ctx, 'the source to keep the VM', t.abortMs, (cur, vm) => {
    const sourceSettled = cur.sourceState !== 'transferring' && cur.sourceState !== 'mirroring' && cur.sourceState !== 'completed';
    return sourceSettled && vm.phase === 'Running';
  }).catch((err: Error) => ctx.log.warn(`abort of ${rec.data.id}: ${err.message}`));
  // A target agent that is down cannot confirm; once back it removes a target the controller no longer lists by itself.
  await waitMigration(ctx, 'the target to clean up', t.targetCleanupMs, (cur) => cur.targetGone === true || cur.targetState === undefined).catch(() => undefined);
  const live = liveResult(ctx, liveState);
  await advance(ctx, () => ({ migration: undefined }), { state: cancelled ? 'cancelled' : 'failed', path: live.path ?? rec.data.path, error: ctx.job.error?.message });
}

/** Postcopy broke off: the guest's memory is split between two hosts and cannot be put together again. */
async function lost(ctx: StepContext, rec: MigrationRecord): Promise<void> {
  const reason = `postcopy migration ${rec.id} was interrupted: the guest's memory was split between ${rec.source} and ${rec.target} and is lost; start the VM again`;
  await advance(ctx, (_vm, m) => ({ hostId: m.sourceHostId, epoch: m.sourceEpoch, phase: 'Failed', intent: 'stopped', forceStop: true, reason, migration: undefined }), { state: 'failed', error: reason });
}

/** The migration is no longer recorded on the VM and its record ended in `state`. */
async function endedAs(ctx: StepContext, state: MigrationRecord['state']): Promise<boolean> {
  const rec = await ctx.state.store.get<MigrationRecord>(KIND.migration, migrationIdOf(ctx));
  return rec?.data.state === state && !(await currentMigration(ctx));
}

async function currentMigration(ctx: StepContext): Promise<VmMigrationState | undefined> {
  const vm = await ctx.state.getVm(vmIdOf(ctx));
  const m = vm?.data.migration;
  return m?.id === migrationIdOf(ctx) ? m : undefined;
}

function liveResult(ctx: StepContext, liveState: LiveState): Partial<MigrationRecord> {
  const live = liveState.migrations.get(migrationIdOf(ctx));
  return { ...(live?.path ? { path: live.path } : {}), ...(live?.result ? { result: live.result } : {}), ...(live?.progress ? { progress: live.progress } : {}) };
}
