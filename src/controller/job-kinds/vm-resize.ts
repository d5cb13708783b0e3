// vm.resize: (with --migrate) move the VM to a host with room first, then
// write the new size into its spec and wait until its host agent reports the
// vCPUs and memory plugged. A stopped VM takes the size at its next start.
// A resize that fails (QEMU refuses, the guest never takes it up) rolls the
// spec back, so the agent returns the VM to the size it had.
import { ApiError, ErrorCode } from '../../api/errors.js';
import { checkResize } from '../../core/resize.js';
import type { ControllerContext } from '../context.js';
import type { EventDraft } from '../events.js';
import type { JobKind, StepContext } from '../jobs.js';
import { startMigration } from '../migration-start.js';
import { KIND, nowIso, type MigrationRecord, type VmRecord } from '../records.js';
import { putOp, retryOnConflict } from '../state.js';
import { bootMemoryOf, hostRoom, resizeVmOf } from '../vm-resize.js';
import { vmIdOf, waitVm } from './vm-steps.js';

/** How long the guest may take to plug (or give back) vCPUs and memory. */
export const RESIZE_WAIT_MS = 90_000;
const MOVE_TIMEOUT_MS = 3600_000;

type Size = { cpus: number; memoryMiB: number };

export function vmResizeKind(ctx: () => ControllerContext, waitMs = RESIZE_WAIT_MS): JobKind {
  return {
    kind: 'vm.resize',
    steps: () => [
      { name: 'migrate', run: (s) => moveFirst(s, ctx()) },
      { name: 'request', run: (s) => writeSize(s) },
      { name: 'wait', run: (s) => waitPlugged(s, waitMs) },
    ],
    rollback: (s) => restoreSize(s),
  };
}

function sizeOf(s: StepContext): Size {
  const size = s.job.params.resize;
  if (!size) throw new Error(`job ${s.job.id} has no size`);
  return size;
}

function describe(from: Size, to: Size): string {
  const parts: string[] = [];
  if (from.cpus !== to.cpus) parts.push(`${from.cpus} → ${to.cpus} vCPUs`);
  if (from.memoryMiB !== to.memoryMiB) parts.push(`${from.memoryMiB} → ${to.memoryMiB} MiB`);
  return parts.join(', ') || 'size unchanged';
}

function resizedEvent(vm: VmRecord, from: Size, to: Size, note: string): EventDraft {
  return { kind: 'vm.resized', resource: vm.name, message: `VM ${vm.name}: ${describe(from, to)}${note}`, data: { id: vm.id, from, to } };
}

/** --migrate: live-migrate it to the chosen host, and wait for the migration to end. */
async function moveFirst(s: StepContext, ctx: ControllerContext): Promise<void> {
  const to = s.job.params.resizeMigrateTo;
  if (!to) return;
  if (!s.job.params.migrationId) {
    const started = await startMigration(ctx, vmIdOf(s), { to });
    s.job.params.migrationId = started.migration.id;
    s.job.progress = { done: 0, total: 2, message: `moving to ${started.migration.target} first (migration ${started.migration.id})` };
    await s.save();
  }
  const id = s.job.params.migrationId;
  let rec: MigrationRecord | undefined;
  await s.state.changes.waitUntil(async () => {
    rec = (await s.state.store.get<MigrationRecord>(KIND.migration, id))?.data;
    return rec && ['completed', 'failed', 'cancelled'].includes(rec.state) ? true : undefined;
  }, MOVE_TIMEOUT_MS, `migration ${id}`, s.signal);
  if (rec?.state !== 'completed') throw new ApiError(ErrorCode.conflict, `the move to a host with room did not happen (migration ${id} ${rec?.state ?? 'lost'}: ${rec?.error ?? 'no reason given'}); the VM keeps its size on its host`);
  s.job.progress = { done: 1, total: 2, message: `moved to ${rec.target}; resizing` };
  await s.save();
}

/** Writes the new size, after checking it once more against the (possibly new) host's room. */
async function writeSize(s: StepContext): Promise<void> {
  const to = sizeOf(s);
  await retryOnConflict(async () => {
    const current = await s.state.mustGetVm(vmIdOf(s));
    const vm = current.data;
    if (vm.spec.cpus === to.cpus && vm.spec.memoryMiB === to.memoryMiB) return; // written before a restart
    if (vm.migration) throw new ApiError(ErrorCode.conflict, `VM ${vm.name} is migrating (migration ${vm.migration.id}); resize it once the migration has ended`);
    const live = vm.phase === 'Running' || vm.phase === 'Paused';
    if (live) {
      const hosts = (await s.state.listHosts()).map((h) => h.data);
      const vms = (await s.state.listVms()).map((v) => v.data);
      const host = hosts.find((h) => h.id === vm.hostId);
      const verdict = checkResize(resizeVmOf(vm, true), to, host ? hostRoom(host, vms) : { name: '-', freeCpus: 0, freeMemoryMiB: 0 }, []);
      if (!verdict.ok) throw new ApiError(ErrorCode.conflict, verdict.message, verdict.field, verdict.allowed);
    }
    // Boot memory stays what the running QEMU booted with; a stopped VM boots with at most its new memory.
    const boot = live ? bootMemoryOf(vm.spec) : Math.min(bootMemoryOf(vm.spec), to.memoryMiB);
    const next: VmRecord = { ...vm, spec: { ...vm.spec, ...to, bootMemoryMiB: boot }, agentError: undefined, updatedAt: nowIso() };
    const from = { cpus: vm.spec.cpus, memoryMiB: vm.spec.memoryMiB };
    const note = live ? ' (applied live)' : ' (from its next start)';
    await s.state.commit([putOp(KIND.vm, vm.id, next, current.rev)], [resizedEvent(next, from, to, note)]);
  });
}

/**
 * Waits until the agent reports the size plugged (only while a QEMU runs; a
 * stopped VM is done). A shrink may end a few blocks short: memory the guest
 * kernel cannot move stays plugged, and virtio-mem keeps asking for it. Once
 * the guest has given back what it can (the agent says the plugged size
 * stalled) the resize is done, and the job says what is still held.
 */
async function waitPlugged(s: StepContext, waitMs: number): Promise<void> {
  const to = sizeOf(s);
  const from = s.job.params.resizeFrom ?? to;
  let heldMiB = 0;
  await waitVm(s, `to have ${to.cpus} vCPUs and ${to.memoryMiB} MiB plugged`, waitMs, (vm) => {
    if (vm.phase !== 'Running' && vm.phase !== 'Paused') return true;
    const size = vm.observed?.size;
    if (size?.error && (vm.spec.cpus !== size.cpus || vm.spec.memoryMiB !== size.memoryMiB)) throw new ApiError(ErrorCode.unavailable, size.error);
    if (vm.spec.cpus !== to.cpus || vm.spec.memoryMiB !== to.memoryMiB) throw new ApiError(ErrorCode.conflict, `superseded: VM ${vm.name} was resized again (now ${vm.spec.cpus} vCPUs, ${vm.spec.memoryMiB} MiB)`);
    if (!size || size.cpus !== to.cpus) return false;
    // Memory this resize does not change is not waited for (an earlier shrink may still hold a few blocks).
    if (size.memoryMiB === to.memoryMiB || to.memoryMiB === from.memoryMiB) return true;
    const shrankSome = to.memoryMiB < from.memoryMiB && size.memoryMiB < from.memoryMiB && size.memoryMiB > to.memoryMiB;
    if (size.memoryStalled && size.requestedMemoryMiB === to.memoryMiB && shrankSome) {
      heldMiB = size.memoryMiB - to.memoryMiB;
      return true;
    }
    return false;
  });
  if (heldMiB > 0) {
    s.job.progress = { done: 1, total: 1, message: `the guest gave back all but ${heldMiB} MiB, which its kernel still uses; virtio-mem keeps asking for them` };
    await s.save();
  }
}

/** Puts the size from before back, if the spec still holds the one this job wrote. */
async function restoreSize(s: StepContext): Promise<void> {
  const to = s.job.params.resize;
  const from = s.job.params.resizeFrom;
  if (!to || !from) return;
  await retryOnConflict(async () => {
    const current = await s.state.getVm(vmIdOf(s));
    if (!current) return;
    const vm = current.data;
    if (vm.spec.cpus !== to.cpus || vm.spec.memoryMiB !== to.memoryMiB) return;
    if (from.cpus === to.cpus && from.memoryMiB === to.memoryMiB) return;
    const next: VmRecord = { ...vm, spec: { ...vm.spec, ...from }, updatedAt: nowIso() };
    await s.state.commit([putOp(KIND.vm, vm.id, next, current.rev)], [resizedEvent(next, to, from, ' (the resize failed: back to the size it had)')]);
  });
}
