// What every goal works with: the model, its units, the search cache and the
// explainer, plus helpers to take VMs off their hosts and put them somewhere.
import type { Need } from './constraints.js';
import { needOf } from './constraints.js';
import { Explainer } from './explain.js';
import { haDeficit, haView, type HaView } from './ha.js';
import { Model, type ModelOptions } from './model.js';
import type { Unplaced } from './plan.js';
import type { ResolvedPolicy } from './policy.js';
import { chooseHost, type Choice, type Mode, type SearchCache } from './search.js';
import type { ClusterSnapshot } from './snapshot.js';
import { buildUnits, type Units } from './units.js';

export interface Ctx {
  m: Model;
  units: Units;
  cache: SearchCache;
  explainer: Explainer;
}

export function newCtx(snapshot: ClusterSnapshot, policy: ResolvedPolicy, opts: ModelOptions = {}): Ctx {
  const m = new Model(snapshot, policy, opts);
  return { m, units: buildUnits(m), cache: new Map(), explainer: new Explainer(m) };
}

export interface Attempt {
  need: Need;
  choice: Choice | null;
  /** Where each member was before (host index, or UNPLACED/FAILED). */
  from: number[];
  ha: HaView;
}

/**
 * Takes `members` off their hosts and looks for one host for all of them under
 * every must-constraint. HA deficits may not exceed max(0, `bounds`) (default:
 * the deficits before the members were taken off). The members stay detached:
 * call `settle` (or `restore`).
 */
export function attempt(ctx: Ctx, members: number[], mode: Mode, opts: { bounds?: { cpu: number; mem: number }; noHa?: boolean } = {}): Attempt {
  const { m, units } = ctx;
  const bounds = opts.bounds ?? haDeficit(m);
  const from = members.map((v) => m.vmHost[v]!);
  for (const v of members) m.remove(v);
  const ha = opts.noHa ? { ...haView(m, bounds), failures: 0 } : haView(m, bounds);
  const need = needOf(m, members, units.conflict[units.unitOf[members[0]!]!] ?? null);
  return { need, choice: chooseHost(m, need, ha, mode, ctx.cache), from, ha };
}

/** Puts the members of an attempt on its chosen host. */
export function settle(ctx: Ctx, a: Attempt): void {
  for (const v of a.need.members) ctx.m.place(v, a.choice!.host);
}

/** Puts the members back where they were (failed or unplaced ones stay off every host). */
export function restore(ctx: Ctx, a: Attempt): void {
  a.need.members.forEach((v, i) => {
    const h = a.from[i]!;
    if (h >= 0) ctx.m.place(v, h);
    else ctx.m.vmHost[v] = h;
  });
}

/** The unplaced entries for a failed attempt (explained while its members are detached). */
export function unplacedOf(ctx: Ctx, a: Attempt): Unplaced[] {
  const reasons = ctx.explainer.reasons(a.need, a.ha);
  return a.need.members.map((v) => ({ vm: ctx.m.vmIds[v]!, reasons }));
}

/**
 * The members matching `pick` of each unit, among `vms` (default all); largest
 * first (memory, then vCPUs), then by first VM.
 */
export function unitsWhere(ctx: Ctx, pick: (v: number) => boolean, vms?: Iterable<number>): number[][] {
  const { m, units } = ctx;
  const byUnit = new Map<number, number[]>();
  const add = (v: number) => {
    if (!pick(v)) return;
    const u = units.unitOf[v]!;
    const list = byUnit.get(u);
    if (list) list.push(v);
    else byUnit.set(u, [v]);
  };
  if (vms) for (const v of vms) add(v);
  else for (let v = 0; v < m.V; v++) add(v);
  const keyed = [...byUnit.values()].map((l) => {
    l.sort((a, b) => a - b);
    let mem = 0;
    let cpu = 0;
    for (const v of l) {
      mem += m.mem[v]!;
      cpu += m.cpu[v]!;
    }
    return { l, mem, cpu };
  });
  keyed.sort((a, b) => b.mem - a.mem || b.cpu - a.cpu || a.l[0]! - b.l[0]!);
  return keyed.map((k) => k.l);
}

export function round(x: number, digits = 3): number {
  const f = 10 ** digits;
  return Math.round(x * f) / f + 0; // + 0: no -0 in plans
}
