// Resource pools (docs/resource-pools.md), pure: a named share of the
// cluster with a reservation, a limit and shares for CPU and memory, nested
// one level. Accounting is by allocation of the VMs that hold resources: a
// pool's `use` is its VMs' vCPUs and memory plus its child pools' use. What a
// pool takes from the cluster (`held`) is the larger of its reservation and
// what it charges: its own VMs plus what its children hold. The cluster is
// consistent while   allocated + unused reservations <= capacity,   with
// unused reservations = sum over top-level pools of (held - use). A VM may
// start when no pool limit on its way up is exceeded and that sum does not
// grow beyond the free room (a VM uses its own pool's unused reservation).
// 1 vCPU counts as 1 core; memory in MiB.

export const SHARES_LEVELS = { low: 500, normal: 1000, high: 2000 } as const;
export type SharesLevel = keyof typeof SHARES_LEVELS;
export type Shares = SharesLevel | number;
/** Numeric shares: like vSphere's custom shares; 10 shares = cgroup weight 1. */
export const SHARES_RANGE = { min: 10, max: 100_000 } as const;

export interface PoolCpu {
  reservationCores?: number;
  limitCores?: number;
  shares?: Shares;
}
export interface PoolMemory {
  reservationMiB?: number;
  limitMiB?: number;
  shares?: Shares;
}
export interface PoolDef {
  name: string;
  /** A top-level pool; a pool with a parent has no children (one level of nesting). */
  parent?: string;
  cpu?: PoolCpu;
  memory?: PoolMemory;
}

export interface Amount {
  cpu: number;
  memoryMiB: number;
}
export interface PoolAccount {
  /** vCPUs and MiB of its VMs that hold resources, its children's included. */
  use: Amount;
  /** Its own VMs plus what its children hold: what its limit is checked against. */
  charge: Amount;
  /** max(reservation, charge): what it takes from the cluster. */
  held: Amount;
}
export interface PoolProblem {
  field: string;
  message: string;
  allowed?: string;
  /** VM admission: a pool limit, or the reservations of pools. */
  kind?: 'limit' | 'reservation';
}

type Res = keyof Amount;
const RESOURCES: readonly Res[] = ['cpu', 'memoryMiB'];
const EPS = 1e-6;
const ZERO: Amount = { cpu: 0, memoryMiB: 0 };

export function sharesValue(s: Shares | undefined): number {
  if (s === undefined) return SHARES_LEVELS.normal;
  return typeof s === 'number' ? s : SHARES_LEVELS[s];
}

/** The cgroup CPU weight (v2 cpu.weight scale, 1-10000, 100 = default) of a pool's CPU shares: shares / 10. */
export function sharesToWeight(s: Shares | undefined): number {
  return Math.min(10_000, Math.max(1, Math.round(sharesValue(s) / 10)));
}

export function reservationOf(p: PoolDef, r: Res): number {
  return (r === 'cpu' ? p.cpu?.reservationCores : p.memory?.reservationMiB) ?? 0;
}

export function limitOf(p: PoolDef, r: Res): number {
  return (r === 'cpu' ? p.cpu?.limitCores : p.memory?.limitMiB) ?? Infinity;
}

export function formatAmount(r: Res, n: number): string {
  if (r === 'memoryMiB') return `${Math.round(n)} MiB`;
  const x = Math.round(n * 100) / 100;
  return `${x} core${x === 1 ? '' : 's'}`;
}

const add = (a: Amount, b: Amount): Amount => ({ cpu: a.cpu + b.cpu, memoryMiB: a.memoryMiB + b.memoryMiB });
const max = (a: Amount, b: Amount): Amount => ({ cpu: Math.max(a.cpu, b.cpu), memoryMiB: Math.max(a.memoryMiB, b.memoryMiB) });
const reservation = (p: PoolDef): Amount => ({ cpu: reservationOf(p, 'cpu'), memoryMiB: reservationOf(p, 'memoryMiB') });

/** Whether a pool counts as top-level: no parent, or a parent that is not there. */
function isTop(p: PoolDef, names: ReadonlySet<string>): boolean {
  return p.parent === undefined || !names.has(p.parent);
}

/** Per pool: use, charge and held, from the allocation of each pool's own VMs (`direct`, by pool name). */
export function accountPools(pools: readonly PoolDef[], direct: ReadonlyMap<string, Amount>): Map<string, PoolAccount> {
  const names = new Set(pools.map((p) => p.name));
  const out = new Map<string, PoolAccount>();
  for (const p of pools) {
    if (isTop(p, names)) continue;
    const own = direct.get(p.name) ?? ZERO;
    out.set(p.name, { use: own, charge: own, held: max(reservation(p), own) });
  }
  for (const p of pools) {
    if (!isTop(p, names)) continue;
    const own = direct.get(p.name) ?? ZERO;
    let use = own;
    let charge = own;
    for (const c of pools) {
      if (c.parent !== p.name) continue;
      const a = out.get(c.name)!;
      use = add(use, a.use);
      charge = add(charge, a.held);
    }
    out.set(p.name, { use, charge, held: max(reservation(p), charge) });
  }
  return out;
}

/** Reserved and not used: over the top-level pools, held - use. */
export function unusedReservations(pools: readonly PoolDef[], acct: ReadonlyMap<string, PoolAccount>): Amount {
  const names = new Set(pools.map((p) => p.name));
  let sum = ZERO;
  for (const p of pools) {
    const a = acct.get(p.name);
    if (!a || !isTop(p, names)) continue;
    sum = add(sum, { cpu: a.held.cpu - a.use.cpu, memoryMiB: a.held.memoryMiB - a.use.memoryMiB });
  }
  return sum;
}

/** A pool and its parent, as present (the chain whose limits a VM of the pool counts against). */
export function poolChain(pools: readonly PoolDef[], name: string | undefined): PoolDef[] {
  const p = name === undefined ? undefined : pools.find((x) => x.name === name);
  if (!p) return [];
  const parent = p.parent === undefined ? undefined : pools.find((x) => x.name === p.parent);
  return parent ? [p, parent] : [p];
}

export interface VmAdmission {
  pools: readonly PoolDef[];
  /** Allocation of each pool's own VMs that hold resources now (the subject left out). */
  direct: ReadonlyMap<string, Amount>;
  /** Free allocatable room on the Ready hosts now (the subject left out). */
  free: Amount;
}

/**
 * Whether `amount` more of pool `pool` (undefined: a VM in no pool) may be
 * allocated: undefined when it may, else the problem. `what` names the
 * change, e.g. "starting VM web (2 vCPUs, 1024 MiB)".
 */
export function admitVm(a: VmAdmission, pool: string | undefined, amount: Amount, what: string): PoolProblem | undefined {
  const before = accountPools(a.pools, a.direct);
  const chain = poolChain(a.pools, pool);
  const direct = new Map(a.direct);
  if (chain[0]) direct.set(chain[0].name, add(direct.get(chain[0].name) ?? ZERO, amount));
  const after = accountPools(a.pools, direct);
  for (const q of chain) {
    for (const r of RESOURCES) {
      const lim = limitOf(q, r);
      const [was, now] = [before.get(q.name)!.charge[r], after.get(q.name)!.charge[r]];
      if (now > lim + EPS && now > was + EPS) return limitProblem(q, r, was, now, what, q !== chain[0]);
    }
  }
  const [ub, ua] = [unusedReservations(a.pools, before), unusedReservations(a.pools, after)];
  for (const r of RESOURCES) {
    const freeAfter = a.free[r] - amount[r];
    if (ua[r] - freeAfter > EPS && ua[r] - freeAfter > ub[r] - a.free[r] + EPS) return reservationProblem(a.pools, after, r, freeAfter, what);
  }
  return undefined;
}

function limitProblem(q: PoolDef, r: Res, was: number, now: number, what: string, parent: boolean): PoolProblem {
  const kind = r === 'cpu' ? 'CPU' : 'memory';
  const flag = r === 'cpu' ? '--cpu-limit' : '--memory-limit';
  const whose = parent ? 'its VMs and what its child pools hold' : 'its VMs';
  return {
    kind: 'limit',
    field: 'resourcePool',
    message: `${what} would exceed the ${kind} limit of resource pool ${q.name} (${formatAmount(r, limitOf(q, r))}): ${whose} would come to ${formatAmount(r, now)} (now ${formatAmount(r, was)}). Raise the limit (drover resource-pool set ${q.name} ${flag} N), or stop or shrink a VM of the pool`,
    allowed: `at most ${formatAmount(r, Math.max(0, limitOf(q, r) - was))} more in pool ${q.name}`,
  };
}

function reservationProblem(pools: readonly PoolDef[], after: ReadonlyMap<string, PoolAccount>, r: Res, freeAfter: number, what: string): PoolProblem {
  const names = new Set(pools.map((p) => p.name));
  const listed = pools.filter((p) => isTop(p, names)).flatMap((p) => {
    const x = after.get(p.name)!;
    const unused = x.held[r] - x.use[r];
    return unused > EPS ? [`${p.name} ${formatAmount(r, unused)}`] : [];
  });
  const total = unusedReservations(pools, after)[r];
  const kind = r === 'cpu' ? 'CPU' : 'memory';
  return {
    kind: 'reservation',
    field: 'resourcePool',
    message: `${what} would leave ${formatAmount(r, Math.max(0, freeAfter))} of ${kind} free on the Ready hosts, less than the ${formatAmount(r, total)} that resource pools reserve and do not use (${listed.join(', ')}). Put the VM in a pool with unused reservation (--resource-pool), lower those reservations (drover resource-pool set NAME ${r === 'cpu' ? '--cpu-reservation' : '--memory-reservation'} N), or add or wake hosts`,
    allowed: `a VM in a pool whose own reservation covers it`,
  };
}
