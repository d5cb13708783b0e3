// Resource pool admission on the live cluster (docs/resource-pools.md): the
// controller gathers the numbers (pools, what each pool's VMs hold, the
// Ready hosts' capacity and free room) and src/core/resource-pools.ts decides.
// A VM that starts (create, start), grows (resize) or changes pool while it
// holds resources is refused when a pool limit on its way up would be
// exceeded, or when the unused reservations of other pools would no longer
// fit in the free room. Checked when the request comes, like HA admission.
import { ApiError, ErrorCode } from '../api/errors.js';
import { POLICY_DEFAULTS } from '../core/planner/index.js';
import { usesResources } from '../core/pool-capacity.js';
import { admitVm, type Amount, type PoolDef } from '../core/resource-pools.js';
import type { ControllerContext } from './context.js';
import { hostCapacity } from './host-capacity.js';
import { KIND, type HostRecord, type ResourcePoolRecord, type VmRecord } from './records.js';
import type { Versioned } from './state.js';

export interface ClusterRoom {
  /** Physical capacity of the Ready hosts for VMs (less what they hold back for themselves). */
  physical: Amount;
  /** Allocatable room left on the Ready hosts (the planner's overcommit applied), may be negative. */
  free: Amount;
  /** Per pool name: allocation of its own VMs that hold resources. */
  direct: Map<string, Amount>;
}

export function poolDef(p: ResourcePoolRecord): PoolDef {
  return { name: p.name, ...(p.parent !== undefined ? { parent: p.parent } : {}), cpu: p.cpu, memory: p.memory };
}

/** Pure: the numbers of the pool math from the records; `skipVmId` is left out (the VM being admitted). */
export function clusterRoom(hosts: readonly HostRecord[], vms: readonly VmRecord[], skipVmId?: string): ClusterRoom {
  const physical = { cpu: 0, memoryMiB: 0 };
  const ready = new Set<string>();
  for (const h of hosts) {
    if (h.state !== 'Ready') continue;
    ready.add(h.id);
    const c = hostCapacity(h.inventory);
    physical.cpu += c.cpus - c.reservedCpus;
    physical.memoryMiB += c.memoryMiB - c.reservedMemoryMiB;
  }
  const free = { cpu: physical.cpu * POLICY_DEFAULTS.overcommitCpu, memoryMiB: physical.memoryMiB * POLICY_DEFAULTS.overcommitMemory };
  const direct = new Map<string, Amount>();
  for (const v of vms) {
    if (v.id === skipVmId || !usesResources(v.phase)) continue;
    if (v.hostId !== null && ready.has(v.hostId)) {
      free.cpu -= v.spec.cpus;
      free.memoryMiB -= v.spec.memoryMiB;
    }
    const pool = v.spec.resourcePool;
    if (pool === undefined) continue;
    const d = direct.get(pool) ?? { cpu: 0, memoryMiB: 0 };
    direct.set(pool, { cpu: d.cpu + v.spec.cpus, memoryMiB: d.memoryMiB + v.spec.memoryMiB });
  }
  return { physical, free, direct };
}

export async function listPoolRecords(ctx: Pick<ControllerContext, 'state'>): Promise<Versioned<ResourcePoolRecord>[]> {
  return ctx.state.store.list<ResourcePoolRecord>(KIND.resourcePool);
}

/** The pool a VM names, or a 404 naming `field`. */
export async function mustFindPool(ctx: Pick<ControllerContext, 'state'>, name: string, field = 'name'): Promise<Versioned<ResourcePoolRecord>> {
  const p = await ctx.state.store.get<ResourcePoolRecord>(KIND.resourcePool, name);
  if (!p) throw new ApiError(ErrorCode.notFound, `no resource pool named "${name}"; see \`drover resource-pool list\`, or create it: drover resource-pool create ${name}`, field);
  return p;
}

export interface Subject {
  id?: string;
  cpus: number;
  memoryMiB: number;
  resourcePool?: string;
}

/** Refuses (409, field resourcePool) when holding `subject` at its size in its pool breaks a pool limit or others' reservations. */
export async function checkPoolAdmission(ctx: Pick<ControllerContext, 'state'>, subject: Subject, what: string): Promise<void> {
  const [pools, vms, hosts] = await Promise.all([listPoolRecords(ctx), ctx.state.listVms(), ctx.state.listHosts()]);
  if (pools.length === 0) return;
  const room = clusterRoom(hosts.map((h) => h.data), vms.map((v) => v.data), subject.id);
  const problem = admitVm({ pools: pools.map((p) => poolDef(p.data)), direct: room.direct, free: room.free }, subject.resourcePool, { cpu: subject.cpus, memoryMiB: subject.memoryMiB }, what);
  if (problem) throw new ApiError(ErrorCode.conflict, `resource pool admission refuses it: ${problem.message}`, problem.field, problem.allowed);
}

export function sizeText(cpus: number, memoryMiB: number): string {
  return `${cpus} vCPU${cpus === 1 ? '' : 's'}, ${memoryMiB} MiB`;
}

/** A start of a VM that holds nothing now (a stopped or failed one). */
export async function checkStartPool(ctx: Pick<ControllerContext, 'state'>, vm: VmRecord): Promise<void> {
  if (usesResources(vm.phase)) return;
  await checkPoolAdmission(ctx, { id: vm.id, cpus: vm.spec.cpus, memoryMiB: vm.spec.memoryMiB, resourcePool: vm.spec.resourcePool }, `starting VM ${vm.name} (${sizeText(vm.spec.cpus, vm.spec.memoryMiB)})`);
}

/** A live grow of a VM that holds resources (a stopped one is checked when it starts). */
export async function checkGrowPool(ctx: Pick<ControllerContext, 'state'>, vm: VmRecord, size: { cpus: number; memoryMiB: number }): Promise<void> {
  if (!usesResources(vm.phase) || (size.cpus <= vm.spec.cpus && size.memoryMiB <= vm.spec.memoryMiB)) return;
  await checkPoolAdmission(ctx, { id: vm.id, ...size, resourcePool: vm.spec.resourcePool }, `growing VM ${vm.name} to ${sizeText(size.cpus, size.memoryMiB)}`);
}
