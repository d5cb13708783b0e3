// Building blocks of the VM jobs: write a request's desired state exactly
// once, and wait (woken by every commit) until the observed state follows.
import { ApiError, ErrorCode } from '../../api/errors.js';
import { requestTransition, type Transition, type VmRequest } from '../../core/phase.js';
import { vmDeletedEvent, vmPhaseEvent } from '../events.js';
import type { StepContext } from '../jobs.js';
import { KIND, nowIso, type JobParams, type VmRecord } from '../records.js';
import { deleteOp, putOp, retryOnConflict } from '../state.js';

export interface VmJobTimeouts {
  volumesMs: number;
  startMs: number;
  stopMs: number;
  pauseMs: number;
  deleteMs: number;
  /** How long a rollback waits for the agent to remove the VM before it drops the records anyway. */
  rollbackMs: number;
}

export const DEFAULT_VM_TIMEOUTS: VmJobTimeouts = {
  volumesMs: 300_000,
  startMs: 120_000,
  stopMs: 90_000,
  pauseMs: 60_000,
  deleteMs: 90_000,
  rollbackMs: 60_000,
};

export type DesiredChange = (vm: VmRecord, params: JobParams) => { vm: Partial<VmRecord>; params?: Partial<JobParams> };

/** Deleting again what is being deleted just drives the deletion once more. */
export function vmRequestTransition(vm: VmRecord, request: VmRequest): Transition {
  if (request === 'delete' && vm.phase === 'Deleting') return { ok: true, next: 'Deleting' };
  if (vm.removing) return { ok: false, reason: `VM ${vm.name} is being removed (its create failed)` };
  if (vm.migration) return { ok: false, reason: `VM ${vm.name} is migrating (migration ${vm.migration.id}); wait for it or cancel it with \`drover vm migrate ${vm.name} --cancel\`` };
  return requestTransition(vm.phase, request);
}

/**
 * Writes the request's desired state and marks the job `requested` in the
 * same commit, so a resumed job never writes it twice (one epoch bump per start).
 */
export async function writeRequest(ctx: StepContext, request: VmRequest, change: DesiredChange): Promise<void> {
  if (ctx.job.params.requested) return;
  await retryOnConflict(async () => {
    const current = await ctx.state.mustGetVm(vmIdOf(ctx));
    const t = vmRequestTransition(current.data, request);
    if (!t.ok) throw new ApiError(ErrorCode.conflict, t.reason);
    const delta = change(current.data, ctx.job.params);
    // A new request starts clean: an error the agent reported for an earlier one must not fail this job.
    const vm: VmRecord = { ...current.data, agentError: undefined, ...delta.vm, phase: t.next, updatedAt: nowIso() };
    const job = { ...ctx.job, params: { ...ctx.job.params, ...delta.params, requested: true }, updatedAt: nowIso() };
    await ctx.state.commit([putOp(KIND.vm, vm.id, vm, current.rev), putOp(KIND.job, job.id, job)], vmPhaseEvent(current.data, vm));
    ctx.job.params = job.params;
  });
}

export function vmIdOf(ctx: StepContext): string {
  const id = ctx.job.params.vmId;
  if (!id) throw new Error(`job ${ctx.job.id} has no vmId`);
  return id;
}

/**
 * Waits until `done(vm)` holds. `done` may throw to fail the job (the VM
 * failed, or a later request superseded this one).
 */
export async function waitVm(ctx: StepContext, what: string, timeoutMs: number, done: (vm: VmRecord) => boolean | Promise<boolean>): Promise<void> {
  const id = vmIdOf(ctx);
  await ctx.state.changes.waitUntil(async () => {
    const vm = await ctx.state.getVm(id);
    if (!vm) throw new ApiError(ErrorCode.notFound, `VM ${ctx.job.target} was deleted`);
    if (vm.data.agentError) throw new ApiError(ErrorCode.unavailable, `the host agent could not carry out the request: ${vm.data.agentError}`);
    return (await done(vm.data)) ? true : undefined;
  }, timeoutMs, `${ctx.job.target} ${what}`, ctx.signal);
}

export function superseded(vm: VmRecord, expected: string): ApiError {
  return new ApiError(ErrorCode.conflict, `superseded: a later request changed VM ${vm.name} (wanted ${expected}, now intent ${vm.intent}, phase ${vm.phase})`);
}

export function failedError(vm: VmRecord): ApiError {
  return new ApiError(ErrorCode.unavailable, `VM ${vm.name} failed: ${vm.reason ?? 'QEMU exited unexpectedly'}`);
}

/** Waits until the VM started for the job's target epoch runs. */
export function waitRunning(ctx: StepContext, timeoutMs: number): Promise<void> {
  const target = ctx.job.params.targetEpoch;
  return waitVm(ctx, 'to run', timeoutMs, (vm) => {
    if (vm.epoch !== target || vm.intent === 'stopped') throw superseded(vm, `running at epoch ${target}`);
    if (vm.phase === 'Failed') throw failedError(vm);
    return vm.phase === 'Running' || (vm.intent === 'paused' && vm.phase === 'Paused');
  });
}

export function startChange(vm: VmRecord): ReturnType<DesiredChange> {
  const targetEpoch = vm.epoch + 1;
  return { vm: { epoch: targetEpoch, intent: 'running', forceStop: false, reason: undefined }, params: { targetEpoch } };
}

/** Asks the agent to remove the VM (assignment 'absent') and waits until it confirms. */
export async function waitGone(ctx: StepContext, timeoutMs: number): Promise<void> {
  const id = vmIdOf(ctx);
  // A record already removed (by a concurrent delete) is gone too.
  await ctx.state.changes.waitUntil(async () => {
    const vm = await ctx.state.getVm(id);
    return !vm || vm.data.gone === true ? true : undefined;
  }, timeoutMs, `${ctx.job.target} to be removed by its host agent`, ctx.signal);
}

/** Removes the VM's records: the VM, its name and its volumes, and takes it out of its groups, in one commit. */
export async function removeVmRecords(ctx: StepContext): Promise<void> {
  const id = vmIdOf(ctx);
  await retryOnConflict(async () => {
    const vm = await ctx.state.getVm(id);
    if (!vm) return;
    const volumes = (await ctx.state.listVolumes()).filter((v) => v.data.vmId === id);
    const groups = (await ctx.state.listGroups()).filter((g) => g.data.vmIds.includes(id));
    const ops = [deleteOp(KIND.vm, id), ...volumes.map((v) => deleteOp(KIND.volume, v.id))];
    ops.push(...groups.map((g) => putOp(KIND.group, g.id, { ...g.data, vmIds: g.data.vmIds.filter((x) => x !== id), updatedAt: nowIso() }, g.rev)));
    const index = await ctx.state.store.get<{ vmId: string }>(KIND.vmName, vm.data.name);
    if (index?.data.vmId === id) ops.push(deleteOp(KIND.vmName, vm.data.name));
    await ctx.state.commit(ops, [vmDeletedEvent(vm.data)]);
  });
}
