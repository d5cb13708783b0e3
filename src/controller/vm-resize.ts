// POST /v1/vms/:name/resize: checks a new size against the VM's maxima and
// its host's free room (core/resize.ts), then starts a vm.resize job. A
// running VM grows or shrinks live: the job writes the new size into the
// spec, the host agent plugs or unplugs vCPUs and virtio-mem memory, and the
// job waits until the agent reports them plugged. When the host lacks room
// and `migrate` is set, the job first live-migrates the VM to a host that has
// it. A stopped VM just takes its new size at the next start. A live grow
// passes resource pool admission (pool-admission.ts).
import { ApiError, ErrorCode } from '../api/errors.js';
import type { ResizeVmRequest } from '../api/requests.js';
import type { Vm } from '../api/resources.js';
import { DEFAULTS } from '../core/planner/policy.js';
import { usesResources } from '../core/pool-capacity.js';
import { VM_LIMITS } from '../core/vm-limits.js';
import { checkResize, type HostRoom, type ResizeVm } from '../core/resize.js';
import { memoryLimitProblem, QEMU_MEMORY_HEADROOM_MIB } from '../core/resource-controls.js';
import type { ControllerContext } from './context.js';
import { hostCapacity } from './host-capacity.js';
import { chooseTarget, clusterView } from './migration-start.js';
import { KIND, type HostRecord, type JobRecord, type VmRecord } from './records.js';
import { createOp } from './state.js';
import { mustFindVm, toApiVm } from './vm-ops.js';
import { checkGrowPool } from './pool-admission.js';

/** The phases in which a VM can take a new size: live while its QEMU runs, in its spec while it is stopped. */
const RESIZABLE = ['Running', 'Paused', 'Stopped', 'Failed'] as const;

/** `live`: its QEMU runs, so memory cannot go below what it booted with (a stopped VM boots with less next time). */
export function resizeVmOf(vm: VmRecord, live: boolean): ResizeVm {
  const s = vm.spec;
  const boot = live ? bootMemoryOf(s) : VM_LIMITS.minMemoryMiB;
  return { name: vm.name, cpus: s.cpus, maxCpus: s.maxCpus, memoryMiB: s.memoryMiB, maxMemoryMiB: s.maxMemoryMiB, bootMemoryMiB: boot };
}

/** The memory its QEMU boots with: fixed at creation, never above its memory. */
export function bootMemoryOf(spec: VmRecord['spec']): number {
  return Math.min(spec.bootMemoryMiB ?? spec.memoryMiB, spec.memoryMiB);
}

/** What a host can still give: its capacity less reservations, times the planner's overcommit, less what its VMs hold. */
export function hostRoom(h: HostRecord, vms: readonly VmRecord[]): HostRoom {
  const cap = hostCapacity(h.inventory);
  const mine = vms.filter((v) => v.hostId === h.id && usesResources(v.phase));
  const cpus = mine.reduce((n, v) => n + v.spec.cpus, 0);
  const memoryMiB = mine.reduce((n, v) => n + v.spec.memoryMiB, 0);
  return {
    name: h.name,
    cpuUnplug: h.inventory?.kvm !== false,
    freeCpus: Math.max(0, Math.floor((cap.cpus - cap.reservedCpus) * DEFAULTS.overcommitCpu) - cpus),
    freeMemoryMiB: Math.max(0, Math.floor((cap.memoryMiB - cap.reservedMemoryMiB) * DEFAULTS.overcommitMemory) - memoryMiB),
  };
}

export async function requestResize(ctx: ControllerContext, name: string, req: ResizeVmRequest): Promise<{ vm: Vm; job: JobRecord }> {
  const vm = await mustFindVm(ctx.state, name);
  if (req.to !== undefined && req.migrate !== true) throw new ApiError(ErrorCode.invalid, 'to only goes with migrate: add migrate (--migrate) or leave to out', 'to', 'with migrate');
  if (vm.migration) throw new ApiError(ErrorCode.conflict, `VM ${vm.name} is migrating (migration ${vm.migration.id}); resize it once the migration has ended`);
  if (vm.removing || vm.phase === 'Deleting') throw new ApiError(ErrorCode.conflict, `VM ${vm.name} is being deleted`);
  if (!(RESIZABLE as readonly string[]).includes(vm.phase)) throw new ApiError(ErrorCode.conflict, `VM ${vm.name} is ${vm.phase}; a VM can be resized while Running or Paused (live) or Stopped (at its next start)`);
  const live = vm.phase === 'Running' || vm.phase === 'Paused';
  if (req.memoryMiB !== undefined && memoryLimitProblem(vm.spec.limits, req.memoryMiB)) {
    throw new ApiError(ErrorCode.invalid, `memoryMiB ${req.memoryMiB} and QEMU's own memory do not fit under the VM's memory limit of ${vm.spec.limits?.memoryLimitMiB} MiB; raise it first (drover vm limits ${vm.name} --memory-limit SIZE)`, 'memoryMiB', `<= ${(vm.spec.limits?.memoryLimitMiB ?? 0) - QEMU_MEMORY_HEADROOM_MIB}`);
  }
  const pending = await resizeInProgress(ctx, vm);
  if (pending) throw new ApiError(ErrorCode.conflict, `VM ${vm.name} is being resized already (job ${pending}); wait for it`);

  const c = await clusterView(ctx);
  const current = c.hosts.find((h) => h.id === vm.hostId);
  const others = c.hosts.filter((h) => h.state === 'Ready' && h.id !== vm.hostId).map((h) => hostRoom(h, c.vms));
  // A stopped VM holds nothing: only its maxima limit it (its start is placed like any other).
  const unlimited: HostRoom = { name: '-', freeCpus: Number.MAX_SAFE_INTEGER, freeMemoryMiB: Number.MAX_SAFE_INTEGER };
  const host = !live ? unlimited : current ? hostRoom(current, c.vms) : { name: '-', freeCpus: 0, freeMemoryMiB: 0 };
  const verdict = checkResize(resizeVmOf(vm, live), { ...(req.cpus !== undefined ? { cpus: req.cpus } : {}), ...(req.memoryMiB !== undefined ? { memoryMiB: req.memoryMiB } : {}) }, host, others);

  let migrateTo: string | undefined;
  if (!verdict.ok) {
    const fixable = verdict.migrateTo !== undefined && live;
    if (!fixable || req.migrate !== true) throw new ApiError(verdict.migrateTo ? ErrorCode.conflict : ErrorCode.invalid, verdict.message, verdict.field, verdict.allowed);
    if (vm.phase !== 'Running') throw new ApiError(ErrorCode.conflict, `VM ${vm.name} is ${vm.phase}; only a Running VM can be moved first (--migrate)`);
    // The target must have room for the VM at its new size.
    const grown: VmRecord = { ...vm, spec: { ...vm.spec, cpus: req.cpus ?? vm.spec.cpus, memoryMiB: req.memoryMiB ?? vm.spec.memoryMiB } };
    migrateTo = chooseTarget(grown, req.to, c).id;
  } else if (req.migrate === true && req.to !== undefined) {
    throw new ApiError(ErrorCode.invalid, `VM ${vm.name} fits on its host; it is resized where it runs (drop --migrate/--to, or move it with \`drover vm migrate\`)`, 'migrate', 'only when the host lacks room');
  }
  const size = { cpus: req.cpus ?? vm.spec.cpus, memoryMiB: req.memoryMiB ?? vm.spec.memoryMiB };
  await checkGrowPool(ctx, vm, size);
  const job = ctx.runner.newJob('vm.resize', vm.name, { vmId: vm.id, resize: size, resizeFrom: { cpus: vm.spec.cpus, memoryMiB: vm.spec.memoryMiB }, ...(migrateTo ? { resizeMigrateTo: migrateTo } : {}) });
  await ctx.state.commit([createOp(KIND.job, job.id, job)]);
  ctx.runner.start(job);
  return { vm: toApiVm(vm, ctx.live), job };
}

async function resizeInProgress(ctx: ControllerContext, vm: VmRecord): Promise<string | undefined> {
  const jobs = await ctx.state.listJobs();
  return jobs.find((j) => j.data.kind === 'vm.resize' && j.data.state === 'running' && j.data.params.vmId === vm.id)?.id;
}
