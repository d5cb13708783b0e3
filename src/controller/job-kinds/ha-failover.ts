// ha.failover: the HA VMs of the hosts declared dead in one poll
// (ha/monitor.ts, ha/declare.ts) run again elsewhere. The job is created in
// the same commit that makes the hosts Fenced, with all their HA VMs in one
// restart order (priority, higher first); a retry (ha/retry.ts) makes the
// same job for VMs left on failed hosts. Every host in hostIds is dead: a
// VM restarts if it is still on one of them, never onto one. Steps:
//   restart     each VM in order: the planner picks a Ready host; one commit
//               writes the VM there (hostId, epoch + 1, running, staleOn its
//               dead host) together with the job's outcome for it, so a
//               controller killed in between restarts it exactly once
//   migrations  VMs caught in a live migration wait for it to end (it is
//               cancelled while it still can be), then restart the same way
//   confirm     waits (bounded) for the restarted VMs to run; the job ends
//               with one line per VM, and fails if any was not restarted
// Every VM's outcome is a `vm.failover` event; start and end `ha.failover`.
import { ApiError, ErrorCode } from '../../api/errors.js';
import { notRestartableReason } from '../../core/ha-failover.js';
import type { CommitOp } from '../../store/store.js';
import { WaitTimeoutError } from '../change-feed.js';
import type { ControllerContext } from '../context.js';
import { jobEvent, vmPhaseEvent, type EventDraft } from '../events.js';
import { failoverFinishedEvent, vmFailoverEvent } from '../ha/events.js';
import { failoverTarget, restartedVm } from '../ha/restart.js';
import { fromHostOf, hostsText, type FailoverJobParams } from '../ha/failover-params.js';
import { hostDownReason } from '../ha/vm-marks.js';
import { crashHook, type JobKind, type StepContext } from '../jobs.js';
import { KIND, nowIso, type HaVmOutcome, type VmRecord } from '../records.js';
import { putOp, retryOnConflict } from '../state.js';

export interface FailoverTimeouts {
  /** How long a VM caught in a live migration may wait for it to end. */
  migrationMs: number;
  /** How long the job waits for the restarted VMs to run (they may take longer: the job does not fail for that). */
  confirmMs: number;
}

export const DEFAULT_FAILOVER_TIMEOUTS: FailoverTimeouts = { migrationMs: 15 * 60_000, confirmMs: 120_000 };

const KIND_NAME = 'ha.failover';

export function haFailoverKind(t: FailoverTimeouts, ctx: () => ControllerContext): JobKind {
  return {
    kind: KIND_NAME,
    steps: () => [
      { name: 'restart', run: (s) => restartAll(s, ctx(), false) },
      { name: 'migrations', run: (s) => afterMigrations(s, ctx(), t) },
      { name: 'confirm', run: (s) => confirm(s, t) },
    ],
  };
}

function paramsOf(s: StepContext): FailoverJobParams {
  return s.job.params;
}

/** The failed hosts of the job (ids). */
function deadHostsOf(s: StepContext): Set<string> {
  const ids = s.job.params.hostIds ?? [];
  if (ids.length === 0) throw new Error(`job ${s.job.id} names no host`);
  return new Set(ids);
}

/** Restarts, in order, each VM without an outcome yet; VMs in a live migration wait unless `migrating`. */
async function restartAll(s: StepContext, ctx: ControllerContext, migrating: boolean): Promise<void> {
  let n = Object.values(s.job.params.haOutcomes ?? {}).filter((o) => o.restarted).length;
  for (const id of s.job.params.haVmIds ?? []) {
    if (s.job.params.haOutcomes?.[id]) continue;
    if (!migrating && (await s.state.getVm(id))?.data.migration) continue;
    const o = await restartOne(s, ctx, id);
    if (o.restarted) crashHook(KIND_NAME, `restart#${++n}`);
  }
  // What is left found no room in the cluster as it is now: the retry waits for a change.
  await ctx.ha.retry.noteTried();
}

/** Why the job leaves `vm` where it is, or undefined when it restarts it. */
async function stayReason(s: StepContext, vm: VmRecord | undefined): Promise<string | undefined> {
  if (!vm) return 'it was deleted';
  if (vm.hostId === null || !deadHostsOf(s).has(vm.hostId)) return `it is on another host now (${vm.hostId ?? 'none'})`;
  const cannot = notRestartableReason({ ...vm, storage: vm.spec.storage });
  if (cannot) return cannot;
  // A retry leaves the VMs of a host that came back meanwhile: they are its own again.
  const host = paramsOf(s).haRetry ? (await s.state.getHost(vm.hostId))?.data : undefined;
  if (host && host.state !== 'Fenced') return `its host ${host.name} is back (${host.state}): it stays assigned there`;
  return undefined;
}

/** One VM: its new host and epoch, and the job's record of it, in one commit. */
async function restartOne(s: StepContext, ctx: ControllerContext, vmId: string): Promise<HaVmOutcome> {
  const from = fromHostOf(paramsOf(s), s.job.target, vmId);
  return retryOnConflict(async () => {
    const found = await s.state.getVm(vmId);
    const ops: CommitOp[] = [];
    const events: EventDraft[] = [];
    let outcome: HaVmOutcome;
    const vm = found?.data;
    const cannot = await stayReason(s, vm);
    if (cannot || !vm || !found) {
      outcome = { restarted: false, reason: cannot ?? 'it was deleted' };
    } else {
      const target = await failoverTarget(ctx, vm, deadHostsOf(s));
      if ('why' in target) {
        outcome = { restarted: false, reason: target.why };
        ops.push(putOp(KIND.vm, vmId, { ...vm, reason: hostDownReason(`host ${from} failed; not restarted elsewhere: ${target.why}`), updatedAt: nowIso() }, found.rev));
      } else {
        const next = restartedVm(vm, target.host, vm.hostId!);
        outcome = { restarted: true, hostId: target.host.id, host: target.host.name, epoch: next.epoch, started: next.intent === 'running' };
        ops.push(putOp(KIND.vm, vmId, next, found.rev));
        events.push(...vmPhaseEvent(vm, next));
      }
    }
    s.job.params.haOutcomes = { ...s.job.params.haOutcomes, [vmId]: outcome };
    s.job.progress = progressOf(s);
    s.job.updatedAt = nowIso();
    ops.push(putOp(KIND.job, s.job.id, s.job));
    events.push(vmFailoverEvent({ id: vmId, name: vm?.name ?? vmId }, from, outcome), jobEvent(s.job));
    await s.state.commit(ops, events);
    return outcome;
  });
}

/** VMs in a live migration: cancel it while it can be, wait for it to end, then restart them if still on the dead host. */
async function afterMigrations(s: StepContext, ctx: ControllerContext, t: FailoverTimeouts): Promise<void> {
  const waiting = (s.job.params.haVmIds ?? []).filter((id) => !s.job.params.haOutcomes?.[id]);
  for (const id of waiting) {
    await requestCancel(s, id);
    const ended = await s.state.changes.waitUntil(async () => ((await s.state.getVm(id))?.data.migration ? undefined : true), t.migrationMs, `the live migration of ${id} to end`, s.signal)
      .then(() => true, (err: unknown) => {
        if (err instanceof WaitTimeoutError) return false;
        throw err;
      });
    if (ended) await restartOne(s, ctx, id);
    else await recordOutcome(s, id, { restarted: false, reason: `its live migration did not end within ${Math.round(t.migrationMs / 1000)} s` });
  }
  if (waiting.length > 0) await ctx.ha.retry.noteTried();
}

async function requestCancel(s: StepContext, vmId: string): Promise<void> {
  await retryOnConflict(async () => {
    const found = await s.state.getVm(vmId);
    const m = found?.data.migration;
    if (!found || !m || m.cancelRequested || !['queued', 'prepare', 'transfer'].includes(m.stage) || m.sourceState === 'postcopy') return;
    await s.state.commit([putOp(KIND.vm, vmId, { ...found.data, migration: { ...m, cancelRequested: true }, updatedAt: nowIso() }, found.rev)]);
  });
}

async function recordOutcome(s: StepContext, vmId: string, o: HaVmOutcome): Promise<void> {
  const vm = (await s.state.getVm(vmId))?.data;
  s.job.params.haOutcomes = { ...s.job.params.haOutcomes, [vmId]: o };
  s.job.progress = progressOf(s);
  await s.save();
  s.state.events.publish(vmFailoverEvent({ id: vmId, name: vm?.name ?? vmId }, fromHostOf(paramsOf(s), s.job.target, vmId), o));
}

/** Waits for the restarted VMs to run on their new host; then the summary, and a failure if any was not restarted. */
async function confirm(s: StepContext, t: FailoverTimeouts): Promise<void> {
  const started = Object.entries(s.job.params.haOutcomes ?? {}).flatMap(([id, o]) => (o.restarted && o.started ? [{ id, o }] : []));
  const runs = (vm: VmRecord | undefined, o: Extract<HaVmOutcome, { restarted: true }>) => vm?.hostId === o.hostId && vm.epoch === o.epoch && vm.phase === 'Running';
  await s.state.changes.waitUntil(async () => {
    for (const { id, o } of started) if (!runs((await s.state.getVm(id))?.data, o)) return undefined;
    return true;
  }, t.confirmMs, 'the restarted VMs to run', s.signal).catch((err: unknown) => {
    if (!(err instanceof WaitTimeoutError)) throw err;
  });
  const confirmed: Record<string, string> = {};
  for (const { id, o } of started) {
    const vm = (await s.state.getVm(id))?.data;
    confirmed[id] = runs(vm, o) ? `running on ${o.host}` : `not running on ${o.host} after ${Math.round(t.confirmMs / 1000)} s (${vm?.phase ?? 'deleted'}${vm?.agentError ? `: ${vm.agentError}` : vm?.reason ? `: ${vm.reason}` : ''})`;
  }
  s.job.params.haConfirmed = confirmed;
  s.job.progress = progressOf(s);
  await s.save();
  const outcomes = Object.values(s.job.params.haOutcomes ?? {});
  const failed = outcomes.filter((o) => !o.restarted).length;
  const summary = s.job.progress.message ?? '';
  const hosts = s.job.target.split(', ');
  s.state.events.publish(failoverFinishedEvent(hosts, [...deadHostsOf(s)], paramsOf(s).haRetry === true, summary, outcomes.length - failed, failed));
  if (failed > 0) throw new ApiError(ErrorCode.unavailable, `${failed} of ${outcomes.length} HA VM(s) of ${hostsText(hosts)} could not be restarted: ${summary}`);
}

/** One line per VM, in restart order: "NAME: restarted on H (epoch E)[, running]" or "NAME: not restarted, REASON". */
function progressOf(s: StepContext): { done: number; total: number; message: string } {
  const ids = s.job.params.haVmIds ?? [];
  const several = (s.job.params.hostIds?.length ?? 0) > 1;
  const lines: string[] = [];
  let done = 0;
  for (const id of ids) {
    const o = s.job.params.haOutcomes?.[id];
    if (!o) continue;
    done++;
    // With several failed hosts each line names the one the VM comes from.
    const name = `${s.job.params.haVmNames?.[id] ?? id}${several ? ` (from ${fromHostOf(paramsOf(s), s.job.target, id)})` : ''}`;
    const c = s.job.params.haConfirmed?.[id];
    lines.push(o.restarted ? `${name}: ${o.started ? 'restarted' : 'moved, not started'} on ${o.host} (epoch ${o.epoch})${c ? `, ${c}` : ''}` : `${name}: not restarted, ${o.reason.replaceAll('; ', ' | ')}`);
  }
  return { done, total: ids.length, message: lines.length ? lines.join('; ') : `no HA VM on the ${several ? 'hosts' : 'host'}` };
}
