// Resource pools (/v1/resource-pools, docs/resource-pools.md): a named share
// of the cluster with a reservation, a limit and shares for CPU and memory,
// nested one level. VMs belong to one by name (spec.resourcePool). The math
// is src/core/resource-pools.ts; stored as their own kind by name.
import { Type, type Static } from 'typebox';
import { SHARES_RANGE } from '../core/resource-pools.js';
import { IsoTime, Name } from './resources.js';

export const SharesSchema = Type.Union([
  Type.Literal('low'), Type.Literal('normal'), Type.Literal('high'),
  Type.Integer({ minimum: SHARES_RANGE.min, maximum: SHARES_RANGE.max }),
], { description: `relative share when pools compete: low (500), normal (1000, the default), high (2000), or a number ${SHARES_RANGE.min}-${SHARES_RANGE.max}` });

export const PoolCpuSchema = Type.Object({
  reservationCores: Type.Optional(Type.Number({ minimum: 0, maximum: 100_000, description: 'vCPUs (1 vCPU = 1 core) the cluster keeps for the pool\'s VMs' })),
  limitCores: Type.Optional(Type.Number({ minimum: 0.01, maximum: 100_000, description: 'vCPUs the pool\'s VMs (and child pools) may hold at most' })),
  shares: Type.Optional(SharesSchema),
});
export const PoolMemorySchema = Type.Object({
  reservationMiB: Type.Optional(Type.Integer({ minimum: 0, maximum: 1024 ** 3, description: 'memory the cluster keeps for the pool\'s VMs' })),
  limitMiB: Type.Optional(Type.Integer({ minimum: 1, maximum: 1024 ** 3, description: 'memory the pool\'s VMs (and child pools) may hold at most' })),
  shares: Type.Optional(SharesSchema),
});
export type PoolCpuSchema = Static<typeof PoolCpuSchema>;
export type PoolMemorySchema = Static<typeof PoolMemorySchema>;

const PoolAmount = Type.Object({ cpus: Type.Number({ minimum: 0 }), memoryMiB: Type.Number({ minimum: 0 }) });

export const ResourcePool = Type.Object({
  name: Name,
  /** A top-level pool this one is in; absent: top-level. */
  parent: Type.Optional(Name),
  cpu: PoolCpuSchema,
  memory: PoolMemorySchema,
  /** Computed when read: vCPUs and memory of its VMs that hold resources, its children's included. */
  use: PoolAmount,
  /** Computed when read: what it takes from the cluster, the larger of its reservation and its VMs plus what its children hold. */
  held: PoolAmount,
  /** Its VMs by name (all of them, running or not). */
  vms: Type.Array(Type.String()),
  /** Its child pools by name. */
  children: Type.Array(Type.String()),
  createdAt: IsoTime,
  updatedAt: IsoTime,
});
export type ResourcePool = Static<typeof ResourcePool>;

export const CreateResourcePoolRequest = Type.Object({
  name: Name,
  parent: Type.Optional(Name),
  cpu: Type.Optional(PoolCpuSchema),
  memory: Type.Optional(PoolMemorySchema),
});
export type CreateResourcePoolRequest = Static<typeof CreateResourcePoolRequest>;

export const POOL_FIELDS = ['cpu.reservationCores', 'cpu.limitCores', 'cpu.shares', 'memory.reservationMiB', 'memory.limitMiB', 'memory.shares'] as const;
export type PoolField = (typeof POOL_FIELDS)[number];

/** PATCH /v1/resource-pools/:name: the values given change, the `remove`d ones go (shares back to normal), the others keep theirs. */
export const UpdateResourcePoolRequest = Type.Object({
  cpu: Type.Optional(PoolCpuSchema),
  memory: Type.Optional(PoolMemorySchema),
  remove: Type.Optional(Type.Array(Type.Unsafe<PoolField>(Type.Union(POOL_FIELDS.map((f) => Type.Literal(f)))), { description: 'settings to remove: no reservation, no limit, normal shares' })),
});
export type UpdateResourcePoolRequest = Static<typeof UpdateResourcePoolRequest>;
