// PUT /v1/vms/:name/limits, and the limits of POST /v1/vms: a VM's resource
// controls (CPU weight and cap, memory cap, disk I/O caps). The controller
// only records them in the VM's spec; its host agent applies them to the
// running QEMU (src/agent/vm-limits.ts) and reports what is in force. Every
// value is checked before anything changes; a stopped VM gets them at its
// next start.
import { ApiError, ErrorCode } from '../api/errors.js';
import type { SetVmLimitsRequest } from '../api/limits.js';
import { formatLimits, LIMIT_FIELDS, limitsProblem, mergeLimits, unknownLimitField, type ResourceLimits } from '../core/resource-controls.js';
import type { ControllerContext } from './context.js';
import type { EventDraft } from './events.js';
import { KIND, nowIso, type VmRecord } from './records.js';
import type { Handlers } from './route-handlers.js';
import { putOp, retryOnConflict } from './state.js';
import { mustFindVm, toApiVm } from './vm-ops.js';

/** Pure: the limits a VM has after the request, or an invalid-input ApiError naming the field. */
export function limitsAfter(spec: Pick<VmRecord['spec'], 'cpus' | 'memoryMiB' | 'limits'>, req: SetVmLimitsRequest): ResourceLimits {
  const set = req.set ?? {};
  const removed = req.remove ?? [];
  const both = removed.findIndex((f) => set[f] !== undefined);
  if (both >= 0) throw new ApiError(ErrorCode.invalid, `${removed[both]} is both set and removed; give it once`, `remove[${both}]`);
  if (req.clear !== true && Object.keys(set).length === 0 && removed.length === 0) {
    throw new ApiError(ErrorCode.invalid, `nothing to change: set a limit (${LIMIT_FIELDS.join(', ')}), remove one, or clear`, 'set', LIMIT_FIELDS.join(', '));
  }
  checkedLimits(set, spec, 'set.');
  return mergeLimits(spec.limits, req);
}

/**
 * The limits if each fits its range and the VM's size (vCPUs, memory); else an
 * ApiError naming the field (`prefix` + name) and what it allows. Only the
 * limits given are checked: the others were when they were set.
 */
export function checkedLimits(limits: ResourceLimits, size: { cpus: number; memoryMiB: number }, prefix = 'limits.'): ResourceLimits {
  const unknown = unknownLimitField(limits);
  if (unknown !== undefined) throw new ApiError(ErrorCode.invalid, `${prefix}${unknown} is not a limit; the limits are ${LIMIT_FIELDS.join(', ')}`, `${prefix}${unknown}`, LIMIT_FIELDS.join(', '));
  const problem = limitsProblem(limits, size);
  if (problem) throw new ApiError(ErrorCode.invalid, `${prefix}${problem.message}`, `${prefix}${problem.field}`, problem.allowed);
  return limits;
}

/** The spec with these limits: none is no `limits` at all. */
export function withLimits(spec: VmRecord['spec'], limits: ResourceLimits): VmRecord['spec'] {
  const { limits: _old, ...rest } = spec;
  return Object.keys(limits).length > 0 ? { ...rest, limits } : rest;
}

function limitsEvent(vm: VmRecord): EventDraft {
  return { kind: 'vm.limits', resource: vm.name, message: `VM ${vm.name}: limits ${formatLimits(vm.spec.limits)}`, data: { id: vm.id, limits: vm.spec.limits ?? {} } };
}

export async function setVmLimits(ctx: ControllerContext, name: string, req: SetVmLimitsRequest): Promise<VmRecord> {
  limitsAfter((await mustFindVm(ctx.state, name)).spec, req); // refuse bad input first
  return retryOnConflict(async () => {
    const found = await ctx.state.findVm(name);
    if (!found) return mustFindVm(ctx.state, name);
    const vm = found.data;
    if (vm.phase === 'Deleting' || vm.removing) throw new ApiError(ErrorCode.conflict, `VM ${vm.name} is being deleted`);
    const spec = withLimits(vm.spec, limitsAfter(vm.spec, req));
    if (JSON.stringify(spec) === JSON.stringify(vm.spec)) return vm;
    const next: VmRecord = { ...vm, spec, updatedAt: nowIso() };
    await ctx.state.commit([putOp(KIND.vm, vm.id, next, found.rev)], [limitsEvent(next)]);
    return next;
  });
}

export function limitHandlers(ctx: ControllerContext): Pick<Handlers, 'setVmLimits'> {
  return {
    setVmLimits: async ({ params, body }) => toApiVm(await setVmLimits(ctx, params.name, body), ctx.live),
  };
}
