// Admission of a resource pool change (create or update), pure
// (docs/resource-pools.md, "Pool admission"). Only the rules the changed pool
// takes part in are checked, so a cluster that lost a host can still change
// its other pools:
//   - reservation <= limit, for CPU and memory;
//   - one level: a parent is a top-level pool, and a pool with a parent has no children;
//   - the children's reservations together <= the parent's reservation (when
//     it has one) and <= its limit (when it has one);
//   - the top-level pools' reservations together (a pool without one counts
//     its children's) <= the physical capacity of the Ready hosts;
//   - and the reservations not used yet fit in the free room the VMs leave now.
import { accountPools, formatAmount, limitOf, reservationOf, unusedReservations, type Amount, type PoolDef, type PoolProblem } from './resource-pools.js';

type Res = keyof Amount;
const RESOURCES: readonly Res[] = ['cpu', 'memoryMiB'];
const EPS = 1e-6;

export interface PoolChangeInput {
  /** Every pool as it would be after the change. */
  after: readonly PoolDef[];
  /** Every pool as it is now. */
  before: readonly PoolDef[];
  /** The pool created or changed. */
  name: string;
  /** Physical capacity of the Ready hosts (their CPUs and memory less what they hold back for themselves). */
  physical: Amount;
  /** Allocation of each pool's own VMs that hold resources now. */
  direct: ReadonlyMap<string, Amount>;
  /** Free allocatable room on the Ready hosts now. */
  free: Amount;
}

const field = (r: Res, what: 'reservation' | 'limit') => (r === 'cpu' ? `cpu.${what}Cores` : `memory.${what}MiB`);
const flag = (r: Res, what: 'reservation' | 'limit') => `--${r === 'cpu' ? 'cpu' : 'memory'}-${what}`;
const kind = (r: Res) => (r === 'cpu' ? 'CPU' : 'memory');

/** The first rule the change breaks, or undefined. */
export function checkPoolChange(c: PoolChangeInput): PoolProblem | undefined {
  const p = c.after.find((x) => x.name === c.name);
  if (!p) return undefined;
  return ownProblem(p) ?? nestingProblem(c.after, p) ?? childrenProblem(c.after, p) ?? siblingsProblem(c.after, p) ?? capacityProblem(c, p) ?? freeRoomProblem(c);
}

function ownProblem(p: PoolDef): PoolProblem | undefined {
  for (const r of RESOURCES) {
    const [res, lim] = [reservationOf(p, r), limitOf(p, r)];
    if (res > lim + EPS) return { field: field(r, 'reservation'), message: `the ${kind(r)} reservation (${formatAmount(r, res)}) is above the ${kind(r)} limit (${formatAmount(r, lim)}) of pool ${p.name}; lower ${flag(r, 'reservation')} or raise ${flag(r, 'limit')}`, allowed: `at most ${formatAmount(r, lim)}` };
  }
  return undefined;
}

function nestingProblem(pools: readonly PoolDef[], p: PoolDef): PoolProblem | undefined {
  if (p.parent === undefined) return undefined;
  if (p.parent === p.name) return { field: 'parent', message: `pool ${p.name} cannot be its own parent`, allowed: 'a top-level pool' };
  const parent = pools.find((x) => x.name === p.parent);
  if (!parent) return { field: 'parent', message: `no resource pool named "${p.parent}"; see \`drover resource-pool list\``, allowed: 'a top-level pool' };
  if (parent.parent !== undefined) return { field: 'parent', message: `pool ${parent.name} is itself in pool ${parent.parent}; pools nest one level only, so its parent must be a top-level pool`, allowed: 'a top-level pool' };
  const child = pools.find((x) => x.parent === p.name);
  if (child) return { field: 'parent', message: `pool ${p.name} has child pool ${child.name}; pools nest one level only, so it cannot have a parent`, allowed: 'none' };
  return undefined;
}

function sumOfChildren(pools: readonly PoolDef[], parent: string, r: Res): number {
  return pools.filter((x) => x.parent === parent).reduce((n, x) => n + reservationOf(x, r), 0);
}

/** The children's reservations together against the parent's reservation and limit. */
function underParent(pools: readonly PoolDef[], parent: PoolDef, r: Res): { what: 'reservation' | 'limit'; sum: number; cap: number } | undefined {
  const sum = sumOfChildren(pools, parent.name, r);
  const res = r === 'cpu' ? parent.cpu?.reservationCores : parent.memory?.reservationMiB;
  if (res !== undefined && sum > res + EPS) return { what: 'reservation', sum, cap: res };
  const lim = limitOf(parent, r);
  if (sum > lim + EPS) return { what: 'limit', sum, cap: lim };
  return undefined;
}

function childrenProblem(pools: readonly PoolDef[], p: PoolDef): PoolProblem | undefined {
  for (const r of RESOURCES) {
    const x = underParent(pools, p, r);
    if (x) return { field: field(r, x.what), message: `the child pools of ${p.name} reserve ${formatAmount(r, x.sum)} of ${kind(r)} together, more than its ${kind(r)} ${x.what} of ${formatAmount(r, x.cap)}; give ${flag(r, x.what)} at least ${formatAmount(r, x.sum)}, or lower the children's reservations first`, allowed: `at least ${formatAmount(r, x.sum)}` };
  }
  return undefined;
}

function siblingsProblem(pools: readonly PoolDef[], p: PoolDef): PoolProblem | undefined {
  const parent = p.parent === undefined ? undefined : pools.find((x) => x.name === p.parent);
  if (!parent) return undefined;
  for (const r of RESOURCES) {
    const x = underParent(pools, parent, r);
    if (!x) continue;
    const room = x.cap - (x.sum - reservationOf(p, r));
    return { field: field(r, 'reservation'), message: `the child pools of ${parent.name} would reserve ${formatAmount(r, x.sum)} of ${kind(r)} together, more than its ${kind(r)} ${x.what} of ${formatAmount(r, x.cap)}; give ${p.name} at most ${formatAmount(r, Math.max(0, room))}, or raise ${parent.name}'s ${x.what} first (drover resource-pool set ${parent.name} ${flag(r, x.what)} N)`, allowed: `at most ${formatAmount(r, Math.max(0, room))}` };
  }
  return undefined;
}

/** What the top-level pools reserve together; a pool without a reservation of its own counts its children's. */
export function topReservations(pools: readonly PoolDef[]): Amount {
  const names = new Set(pools.map((x) => x.name));
  const out = { cpu: 0, memoryMiB: 0 };
  for (const p of pools) {
    if (p.parent !== undefined && names.has(p.parent)) continue;
    for (const r of RESOURCES) out[r] += Math.max(reservationOf(p, r), sumOfChildren(pools, p.name, r));
  }
  return out;
}

function capacityProblem(c: PoolChangeInput, p: PoolDef): PoolProblem | undefined {
  const [after, before] = [topReservations(c.after), topReservations(c.before)];
  for (const r of RESOURCES) {
    if (after[r] <= c.physical[r] + EPS || after[r] <= before[r] + EPS) continue;
    const room = c.physical[r] - (after[r] - reservationOf(p, r));
    return { field: field(r, 'reservation'), message: `the resource pools would reserve ${formatAmount(r, after[r])} of ${kind(r)} together, more than the ${formatAmount(r, c.physical[r])} the Ready hosts have for VMs; give ${p.name} at most ${formatAmount(r, Math.max(0, room))}, or add or wake hosts`, allowed: `at most ${formatAmount(r, Math.max(0, room))}` };
  }
  return undefined;
}

function freeRoomProblem(c: PoolChangeInput): PoolProblem | undefined {
  const ub = unusedReservations(c.before, accountPools(c.before, c.direct));
  const ua = unusedReservations(c.after, accountPools(c.after, c.direct));
  const p = c.after.find((x) => x.name === c.name)!;
  for (const r of RESOURCES) {
    if (ua[r] <= c.free[r] + EPS || ua[r] <= ub[r] + EPS) continue;
    return { field: field(r, 'reservation'), message: `the VMs running now leave ${formatAmount(r, Math.max(0, c.free[r]))} of ${kind(r)} free on the Ready hosts, and the reservations not used yet would come to ${formatAmount(r, ua[r])}; give ${p.name} a smaller reservation, stop VMs, or add or wake hosts`, allowed: `at most ${formatAmount(r, Math.max(0, reservationOf(p, r) - (ua[r] - Math.max(ub[r], c.free[r]))))}` };
  }
  return undefined;
}
