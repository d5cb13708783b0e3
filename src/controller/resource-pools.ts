// Resource pools (/v1/resource-pools, docs/resource-pools.md): stored as
// their own kind by name; VMs name their pool in spec.resourcePool. A create
// or change passes pool admission (src/core/resource-pool-tree.ts) on the
// live numbers (pool-admission.ts); a pool with VMs or child pools cannot be
// deleted. The parent is set at create and kept.
import { ApiError, ErrorCode } from '../api/errors.js';
import type { CreateResourcePoolRequest, PoolField, ResourcePool, UpdateResourcePoolRequest } from '../api/resource-pools.js';
import { checkPoolChange } from '../core/resource-pool-tree.js';
import { accountPools, type PoolDef } from '../core/resource-pools.js';
import { StoreConflictError } from '../store/store.js';
import type { ControllerContext } from './context.js';
import type { EventDraft } from './events.js';
import { clusterRoom, listPoolRecords, mustFindPool, poolDef } from './pool-admission.js';
import { KIND, nowIso, type HostRecord, type ResourcePoolRecord, type VmRecord } from './records.js';
import { createOp, putOp, retryOnConflict } from './state.js';

interface Records {
  pools: ResourcePoolRecord[];
  vms: VmRecord[];
  hosts: HostRecord[];
}

async function records(ctx: ControllerContext): Promise<Records> {
  const [pools, vms, hosts] = await Promise.all([listPoolRecords(ctx), ctx.state.listVms(), ctx.state.listHosts()]);
  return { pools: pools.map((p) => p.data), vms: vms.map((v) => v.data), hosts: hosts.map((h) => h.data) };
}

const round = (x: number) => Math.round(x * 100) / 100;

/** Pure: the API views of the pools, with use, held, VMs and children. */
export function toApiPools(r: Records): ResourcePool[] {
  const room = clusterRoom(r.hosts, r.vms);
  const acct = accountPools(r.pools.map(poolDef), room.direct);
  return r.pools.map((p) => {
    const a = acct.get(p.name)!;
    return {
      ...p,
      use: { cpus: round(a.use.cpu), memoryMiB: a.use.memoryMiB },
      held: { cpus: round(a.held.cpu), memoryMiB: a.held.memoryMiB },
      vms: r.vms.filter((v) => v.spec.resourcePool === p.name).map((v) => v.name).sort(),
      children: r.pools.filter((c) => c.parent === p.name).map((c) => c.name).sort(),
    };
  }).sort((a, b) => (a.name < b.name ? -1 : 1));
}

export async function listResourcePools(ctx: ControllerContext): Promise<ResourcePool[]> {
  return toApiPools(await records(ctx));
}

async function view(ctx: ControllerContext, name: string): Promise<ResourcePool> {
  const p = toApiPools(await records(ctx)).find((x) => x.name === name);
  if (!p) throw new ApiError(ErrorCode.notFound, `no resource pool named "${name}"; see \`drover resource-pool list\``, 'name');
  return p;
}

export function getResourcePool(ctx: ControllerContext, name: string): Promise<ResourcePool> {
  return view(ctx, name);
}

/** Throws the first pool admission problem of `next` replacing (or joining) the pools of `r`. */
function admit(r: Records, next: ResourcePoolRecord): void {
  const before = r.pools.map(poolDef);
  const after: PoolDef[] = [...before.filter((p) => p.name !== next.name), poolDef(next)];
  const room = clusterRoom(r.hosts, r.vms);
  const problem = checkPoolChange({ after, before, name: next.name, physical: room.physical, direct: room.direct, free: room.free });
  if (problem) throw new ApiError(ErrorCode.conflict, `resource pool ${next.name}: ${problem.message}`, problem.field, problem.allowed);
}

function poolEvent(kind: string, p: ResourcePoolRecord, message: string): EventDraft {
  return { kind, resource: p.name, message, data: { name: p.name, parent: p.parent, cpu: p.cpu, memory: p.memory } };
}

export async function createResourcePool(ctx: ControllerContext, req: CreateResourcePoolRequest): Promise<ResourcePool> {
  const r = await records(ctx);
  if (r.pools.some((p) => p.name === req.name)) throw new ApiError(ErrorCode.conflict, `a resource pool named "${req.name}" already exists; choose another name or change it with \`drover resource-pool set\``, 'name');
  const at = nowIso();
  const pool: ResourcePoolRecord = { name: req.name, ...(req.parent !== undefined ? { parent: req.parent } : {}), cpu: { ...req.cpu }, memory: { ...req.memory }, createdAt: at, updatedAt: at };
  admit(r, pool);
  const ops = [createOp(KIND.resourcePool, pool.name, pool)];
  // The parent must not change meanwhile (its reservation or limit bound this pool's).
  if (pool.parent !== undefined) {
    const parent = await mustFindPool(ctx, pool.parent, 'parent');
    ops.push(putOp(KIND.resourcePool, parent.id, parent.data, parent.rev));
  }
  try {
    await ctx.state.commit(ops, [poolEvent('resource-pool.created', pool, `resource pool ${pool.name} created${pool.parent ? ` in ${pool.parent}` : ''}`)]);
  } catch (err) {
    if (err instanceof StoreConflictError) throw new ApiError(ErrorCode.conflict, `resource pool ${pool.name} or its parent changed meanwhile; try again`, 'name');
    throw err;
  }
  return view(ctx, pool.name);
}

/** Pure: the pool after the change; an empty change or a field both set and removed is refused by name. */
export function updatedPool(p: ResourcePoolRecord, req: UpdateResourcePoolRequest): ResourcePoolRecord {
  const remove = req.remove ?? [];
  if (!req.cpu && !req.memory && remove.length === 0) throw new ApiError(ErrorCode.invalid, 'nothing to change: give cpu or memory settings, or settings to remove', 'cpu');
  const next: ResourcePoolRecord = { ...p, cpu: { ...p.cpu }, memory: { ...p.memory } };
  remove.forEach((f: PoolField, i) => {
    const [part, key] = f.split('.') as ['cpu' | 'memory', string];
    if ((req[part] as Record<string, unknown> | undefined)?.[key] !== undefined) throw new ApiError(ErrorCode.invalid, `${f} is both set and removed; give it in one of them`, `remove[${i}]`);
    delete (next[part] as Record<string, unknown>)[key];
  });
  Object.assign(next.cpu, req.cpu);
  Object.assign(next.memory, req.memory);
  return next;
}

export async function updateResourcePool(ctx: ControllerContext, name: string, req: UpdateResourcePoolRequest): Promise<ResourcePool> {
  return retryOnConflict(async () => {
    const found = await mustFindPool(ctx, name);
    const next = { ...updatedPool(found.data, req), updatedAt: nowIso() };
    if (JSON.stringify({ ...next, updatedAt: '' }) === JSON.stringify({ ...found.data, updatedAt: '' })) return view(ctx, name);
    admit(await records(ctx), next);
    await ctx.state.commit([putOp(KIND.resourcePool, name, next, found.rev)], [poolEvent('resource-pool.updated', next, `resource pool ${name} changed`)]);
    return view(ctx, name);
  });
}

export async function deleteResourcePool(ctx: ControllerContext, name: string): Promise<ResourcePool> {
  const found = await mustFindPool(ctx, name);
  const shown = await view(ctx, name);
  if (shown.children.length > 0) throw new ApiError(ErrorCode.conflict, `resource pool ${name} has child pools (${shown.children.join(', ')}); delete them first`, 'name');
  if (shown.vms.length > 0) throw new ApiError(ErrorCode.conflict, `resource pool ${name} has VMs (${shown.vms.join(', ')}); move them out first (drover vm set VM --no-resource-pool, or --resource-pool OTHER)`, 'name');
  try {
    // expectRev: a VM that joined meanwhile wrote the pool's record (vm create and vm set guard it).
    await ctx.state.commit([{ op: 'delete', kind: KIND.resourcePool, id: name, expectRev: found.rev }], [poolEvent('resource-pool.deleted', found.data, `resource pool ${name} deleted`)]);
  } catch (err) {
    if (err instanceof StoreConflictError) throw new ApiError(ErrorCode.conflict, `resource pool ${name} changed meanwhile (a VM may have joined it); try again`, 'name');
    throw err;
  }
  return shown;
}
