// PATCH /v1/vms/:name: change a VM's placement settings (ha, haPriority,
// hostRules, resourcePool); the fields left out keep their value, hostRules replaces the
// list ([] clears it). Everything is checked before anything changes. The
// new rules apply to every later placement, migration and balancer pass; a
// VM that runs where a new must rule does not hold stays there until it
// moves (`drover vm migrate VM` puts it where the rules hold). Turning ha on
// for a VM that holds resources passes HA admission first (ha/admission.ts);
// moving one that holds resources into a resource pool passes pool admission
// (pool-admission.ts); resourcePool null takes it out of its pool.
import { ApiError, ErrorCode } from '../api/errors.js';
import { UPDATE_VM_FIELDS, type UpdateVmRequest } from '../api/requests.js';
import { formatHostRule } from '../core/labels.js';
import type { ControllerContext } from './context.js';
import type { EventDraft } from './events.js';
import { KIND, nowIso, type ResourcePoolRecord, type VmRecord } from './records.js';
import { putOp, retryOnConflict, type Versioned } from './state.js';
import { usesResources } from '../core/pool-capacity.js';
import { checkPoolAdmission, mustFindPool, sizeText } from './pool-admission.js';
import { checkTurnHa } from './ha/admission.js';
import { hostRulesOf } from './vm-constraints.js';
import { mustFindVm } from './vm-ops.js';

/** Pure: the spec after the change (schema-checked fields; rules checked here). */
export function updatedSpec(spec: VmRecord['spec'], req: UpdateVmRequest): VmRecord['spec'] {
  const unknown = Object.keys(req).find((k) => !(UPDATE_VM_FIELDS as readonly string[]).includes(k));
  if (unknown !== undefined) throw new ApiError(ErrorCode.invalid, `${unknown} cannot be changed here; PATCH /v1/vms/:name changes ${UPDATE_VM_FIELDS.join(', ')}`, unknown, UPDATE_VM_FIELDS.join(', '));
  if (Object.keys(req).length === 0) throw new ApiError(ErrorCode.invalid, `nothing to change: give at least one of ${UPDATE_VM_FIELDS.join(', ')}`, 'ha', UPDATE_VM_FIELDS.join(', '));
  const next = { ...spec };
  if (req.ha !== undefined) next.ha = req.ha;
  if (req.haPriority !== undefined) next.haPriority = req.haPriority;
  if (req.hostRules !== undefined) {
    const rules = hostRulesOf(req.hostRules);
    if (rules.length > 0) next.hostRules = rules;
    else delete next.hostRules;
  }
  if (req.resourcePool === null) delete next.resourcePool;
  else if (req.resourcePool !== undefined) next.resourcePool = req.resourcePool;
  return next;
}

function describe(spec: VmRecord['spec']): string {
  const rules = spec.hostRules?.map(formatHostRule).join(' ') || 'none';
  return `ha ${spec.ha === true ? 'on' : 'off'}, priority ${spec.haPriority ?? 0}, host rules ${rules}, resource pool ${spec.resourcePool ?? 'none'}`;
}

function updatedEvent(vm: VmRecord): EventDraft {
  return { kind: 'vm.updated', resource: vm.name, message: `VM ${vm.name}: ${describe(vm.spec)}`, data: { id: vm.id, ha: vm.spec.ha, haPriority: vm.spec.haPriority, hostRules: vm.spec.hostRules, resourcePool: vm.spec.resourcePool } };
}

/** The new pool when the VM changes pool (404 when it does not exist); pool admission when the VM holds resources. */
async function poolChange(ctx: ControllerContext, vm: VmRecord, spec: VmRecord['spec']): Promise<Versioned<ResourcePoolRecord> | undefined> {
  if (spec.resourcePool === vm.spec.resourcePool) return undefined;
  const pool = spec.resourcePool === undefined ? undefined : await mustFindPool(ctx, spec.resourcePool, 'resourcePool');
  if (usesResources(vm.phase)) await checkPoolAdmission(ctx, { id: vm.id, cpus: spec.cpus, memoryMiB: spec.memoryMiB, resourcePool: spec.resourcePool }, `moving VM ${vm.name} (${sizeText(spec.cpus, spec.memoryMiB)}) ${spec.resourcePool ? `into resource pool ${spec.resourcePool}` : 'out of its resource pool'}`);
  return pool;
}

export async function updateVm(ctx: ControllerContext, name: string, req: UpdateVmRequest): Promise<VmRecord> {
  updatedSpec((await mustFindVm(ctx.state, name)).spec, req); // refuse bad input first
  return retryOnConflict(async () => {
    const found = await ctx.state.findVm(name);
    if (!found) return mustFindVm(ctx.state, name);
    const vm = found.data;
    if (vm.phase === 'Deleting' || vm.removing) throw new ApiError(ErrorCode.conflict, `VM ${vm.name} is being deleted`);
    const spec = updatedSpec(vm.spec, req);
    if (JSON.stringify(spec) === JSON.stringify(vm.spec)) return vm;
    if (spec.ha === true) await checkTurnHa(ctx, vm);
    const pool = await poolChange(ctx, vm, spec);
    const next: VmRecord = { ...vm, spec, updatedAt: nowIso() };
    // The new pool's record is written back unchanged, so a concurrent delete of it loses (or this does).
    const guard = pool ? [putOp(KIND.resourcePool, pool.id, pool.data, pool.rev)] : [];
    await ctx.state.commit([putOp(KIND.vm, vm.id, next, found.rev), ...guard], [updatedEvent(next)]);
    return next;
  });
}
