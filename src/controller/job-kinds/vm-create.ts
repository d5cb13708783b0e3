// vm.create: the VM record, its name and this job were committed together by
// the request; the job waits for the volumes, starts the VM (one epoch bump)
// and waits until it runs. A failure removes the VM again (rolled back).
import { WaitTimeoutError } from '../change-feed.js';
import type { JobKind, StepContext, StepDef } from '../jobs.js';
import { KIND, nowIso, type VmRecord } from '../records.js';
import { putOp, retryOnConflict } from '../state.js';
import { vmPhaseEvent } from '../events.js';
import { removeVmRecords, startChange, vmIdOf, waitGone, waitRunning, waitVm, writeRequest, type VmJobTimeouts } from './vm-steps.js';

export function vmCreateKind(timeouts: VmJobTimeouts): JobKind {
  const volumes: StepDef = { name: 'volumes', run: (ctx) => waitVolumes(ctx, timeouts.volumesMs) };
  const start: StepDef = { name: 'start', run: (ctx) => writeRequest(ctx, 'start', startChange) };
  const running: StepDef = { name: 'running', run: (ctx) => waitRunning(ctx, timeouts.startMs) };
  return {
    kind: 'vm.create',
    steps: (params) => (params.start === false ? [volumes] : [volumes, start, running]),
    rollback: (ctx) => rollBackCreate(ctx, timeouts.rollbackMs),
  };
}

/** Waits until the agent reports every volume of the VM's spec. */
async function waitVolumes(ctx: StepContext, timeoutMs: number): Promise<void> {
  await waitVm(ctx, 'volumes to be created', timeoutMs, async (vm) => {
    const reported = new Set((await ctx.state.listVolumes()).filter((v) => v.data.vmId === vm.id).map((v) => v.id));
    return vm.spec.volumes.every((v) => reported.has(v.id));
  });
}

async function rollBackCreate(ctx: StepContext, timeoutMs: number): Promise<void> {
  await markRemoving(ctx);
  try {
    await waitGone(ctx, timeoutMs);
  } catch (err) {
    if (!(err instanceof WaitTimeoutError)) throw err;
    ctx.log.warn(`host agent did not confirm the removal of ${ctx.job.target}; dropping its records anyway`);
  }
  await removeVmRecords(ctx);
}

async function markRemoving(ctx: StepContext): Promise<void> {
  await retryOnConflict(async () => {
    const current = await ctx.state.getVm(vmIdOf(ctx));
    if (!current || current.data.removing) return;
    const vm: VmRecord = { ...current.data, removing: true, phase: 'Deleting', updatedAt: nowIso() };
    await ctx.state.commit([putOp(KIND.vm, vm.id, vm, current.rev)], vmPhaseEvent(current.data, vm));
  });
}
