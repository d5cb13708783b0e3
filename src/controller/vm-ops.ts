// Start, stop, reboot, pause, resume and delete requests: legal only in the
// phases the core phase machine allows (else 409 and nothing changes); each
// becomes a job that writes the desired state and waits for the agent. A
// start of a stopped HA VM passes HA admission first (ha/admission.ts), and
// every start passes resource pool admission (pool-admission.ts).
import { ApiError, ErrorCode } from '../api/errors.js';
import type { Vm } from '../api/resources.js';
import type { VmRequest } from '../core/phase.js';
import type { ControllerContext } from './context.js';
import { checkStartHa } from './ha/admission.js';
import { checkStartPool } from './pool-admission.js';
import { vmRequestTransition } from './job-kinds/vm-steps.js';
import type { LiveState } from './live-state.js';
import { KIND, type JobParams, type JobRecord, type VmRecord } from './records.js';
import { createOp, type ControllerState } from './state.js';
import { liveDevicesOf } from './device-state.js';

const JOB_OF: Record<VmRequest, string> = {
  start: 'vm.start',
  stop: 'vm.stop',
  'force-stop': 'vm.stop',
  reboot: 'vm.reboot',
  pause: 'vm.pause',
  resume: 'vm.resume',
  delete: 'vm.delete',
};

export async function mustFindVm(state: ControllerState, nameOrId: string): Promise<VmRecord> {
  const vm = await state.findVm(nameOrId);
  if (!vm) throw new ApiError(ErrorCode.notFound, `no VM named "${nameOrId}"; see \`drover vm list\``, 'name');
  return vm.data;
}

export async function requestVmOp(ctx: ControllerContext, nameOrId: string, request: VmRequest, params: JobParams = {}): Promise<{ vm: Vm; job: JobRecord }> {
  const vm = await mustFindVm(ctx.state, nameOrId);
  const t = vmRequestTransition(vm, request);
  if (!t.ok) throw new ApiError(ErrorCode.conflict, t.reason);
  if (request === 'start') await checkStartHa(ctx, vm);
  if (request === 'start') await checkStartPool(ctx, vm);
  const job = ctx.runner.newJob(JOB_OF[request], vm.name, { ...params, vmId: vm.id });
  await ctx.state.commit([createOp(KIND.job, job.id, job)]);
  ctx.runner.start(job);
  return { vm: toApiVm(vm, ctx.live), job };
}

/** The API view of a VM record: its bookkeeping dropped, the live stats added. */
function forwardAddressOf(vm: VmRecord, live: LiveState): { forwardAddress?: string } {
  const address = vm.hostId === null ? undefined : live.forwardAddresses.get(vm.hostId);
  return address ? { forwardAddress: address } : {};
}

/** What its QEMU has plugged, while one runs. */
function liveSizeOf(vm: VmRecord): { live?: { cpus: number; memoryMiB: number } } {
  const size = vm.observed?.size;
  const running = vm.phase === 'Running' || vm.phase === 'Paused' || vm.phase === 'Starting';
  return size && running ? { live: { cpus: size.cpus, memoryMiB: size.memoryMiB } } : {};
}

export function toApiVm(vm: VmRecord, live: LiveState): Vm {
  return {
    id: vm.id,
    name: vm.name,
    spec: vm.spec,
    phase: vm.phase,
    reason: vm.reason,
    intent: vm.intent,
    hostId: vm.hostId,
    epoch: vm.epoch,
    rebootSeq: vm.rebootSeq,
    forceStop: vm.forceStop,
    pid: vm.pid,
    guestReadyAt: vm.guestReadyAt,
    qmpReadyAt: vm.qmpReadyAt,
    qemuStartMs: vm.qemuStartMs,
    stats: live.vmStats(vm.hostId, vm.id),
    ...liveSizeOf(vm),
    ...(vm.observed?.limits && ['Running', 'Paused', 'Starting'].includes(vm.phase) ? { appliedLimits: vm.observed.limits } : {}),
    ...liveDevicesOf(vm),
    ...forwardAddressOf(vm, live),
    ...(vm.migration ? { migration: { id: vm.migration.id, targetHostId: vm.migration.targetHostId, stage: vm.migration.stage } } : {}),
    createdAt: vm.createdAt,
    updatedAt: vm.updatedAt,
  };
}

/** The API view of a job (its params stay inside). */
export function toApiJob(job: JobRecord): Omit<JobRecord, 'params'> {
  const { params: _params, ...rest } = job;
  return rest;
}
