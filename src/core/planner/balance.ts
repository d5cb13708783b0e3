// Goal 'balance': a DRS-like pass. It starts only when the imbalance is above
// policy threshold, then moves one VM at a time, each time the move with the
// best net benefit, until the imbalance is below threshold * hysteresis, no
// move pays for itself, or maxMoves are planned. A move pays for itself when
//   benefit = (S before - S after) * horizonS,  S = sum over ready hosts of (u(h) - mean u)^2
// (n x the variance: one move changes it by about 2 x moved load x the gap
// between the two hosts, whatever the cluster size) exceeds
//   cost    = migration seconds * costWeight
//   migration seconds = memoryMiB / (bandwidth - dirtyMiBs) + localDiskGiB * 1024 / bandwidth
// (dirty rates at or above 90% of the bandwidth count as 10% of it is left).
// A VM that moved less than cooldownMs ago (lastMovedAtMs against nowMs) is
// not moved, nor are VMs that must share a host with others, nor VMs whose
// live migration is under way (migratingTo). Before any of that, VMs whose
// host breaks one of their must-constraints move to one that keeps them
// (repair.ts), whatever the imbalance.
// Overload (overload.ts): a host above the hot level (1 - headroom, plus
// headroom * hysteresis) starts a pass whatever the imbalance; a move's
// benefit also counts the load above 1 - headroom it takes off (less what it
// puts on its target), and a started pass goes on while a host is above
// 1 - headroom, with only such moves once the imbalance is within its target.
import { needOf, ruleMatches, violation } from './constraints.js';
import { round, type Ctx } from './context.js';
import { haDeficit, haView } from './ha.js';
import { replaced, spreadOf, squares, stddev, type Spread } from './imbalance.js';
import { excessOf, hotLevel, hottest, loadLimit, overloadOf } from './overload.js';
import type { ExplainedAction, Unplaced } from './plan.js';
import { repair } from './repair.js';

const SOURCES = 8;
const TARGETS = 16;

interface Move {
  v: number;
  from: number;
  to: number;
  before: number;
  after: number;
  benefit: number;
  /** Load above the limit the move takes off (utilization), net of what it puts above the limit on the target. */
  relief: number;
  cost: number;
  migrationS: number;
  net: number;
  utils: [number, number, number, number];
}

export function migrationSeconds(ctx: Ctx, v: number): number {
  const { m } = ctx;
  const bw = m.policy.bandwidthMiBs;
  const dirty = m.snapshot.vms[v]!.dirtyMiBs ?? 0;
  const effective = dirty >= 0.9 * bw ? 0.1 * bw : bw - dirty;
  return m.mem[v]! / effective + (m.disk[v]! * 1024) / bw;
}

export function inCooldown(ctx: Ctx, v: number): boolean {
  const last = ctx.m.snapshot.vms[v]!.lastMovedAtMs;
  return last !== undefined && (ctx.m.snapshot.nowMs ?? 0) - last < ctx.m.policy.cooldownMs;
}

function movable(ctx: Ctx, v: number, moved: Set<number>): boolean {
  return !moved.has(v) && ctx.units.members[ctx.units.unitOf[v]!]!.length === 1 && !inCooldown(ctx, v) && !ctx.m.inFlight(v);
}

/** Should-rules VM v breaks on host h, counting it as placed nowhere. */
function softPenalty(ctx: Ctx, v: number, h: number): number {
  const { m } = ctx;
  let p = 0;
  const labels = m.snapshot.hosts[h]!.labels;
  for (const r of m.snapshot.vms[v]!.hostRules ?? []) if (r.strength === 'should' && !ruleMatches(labels, r)) p++;
  const self = m.vmHost[v]!;
  for (const g of m.vmGroups[v]!) {
    const info = m.groups[g]!;
    if (info.must) continue;
    const on = m.groupCountOn(h, g) - (self === h ? 1 : 0);
    p += info.anti ? on : m.groupPlaced[g]! - (self >= 0 ? 1 : 0) - on;
  }
  return p;
}

/**
 * Candidate moves as flat arrays (a step weighs thousands; only the chosen one
 * is built in full). With `keepAll` false only the best one is kept.
 */
class Candidates {
  readonly v: number[] = [];
  readonly from: number[] = [];
  readonly to: number[] = [];
  readonly net: number[] = [];
  constructor(private readonly keepAll: boolean) {}

  /** A net below this cannot be kept (keeping only the best: the best so far). */
  floor(): number {
    return this.keepAll || this.net.length === 0 ? 0 : this.net[0]!;
  }

  add(v: number, from: number, to: number, net: number): void {
    if (!this.keepAll && this.v.length > 0) {
      if (!better(net, v, to, this.net[0]!, this.v[0]!, this.to[0]!)) return;
      this.v.pop();
      this.from.pop();
      this.to.pop();
      this.net.pop();
    }
    this.v.push(v);
    this.from.push(from);
    this.to.push(to);
    this.net.push(net);
  }
}

/** Order of candidates: higher net, then lower VM index, then lower target index. */
function better(net: number, v: number, to: number, net2: number, v2: number, to2: number): boolean {
  return net > net2 || (net === net2 && (v < v2 || (v === v2 && to < to2)));
}

function utilsOf(ctx: Ctx, v: number, from: number, to: number): [number, number, number, number] {
  const { m } = ctx;
  const fromAfter = Math.max((m.loadCpu[from]! - m.cpuLoad[v]!) / m.physCpu[from]!, (m.loadMem[from]! - m.memLoad[v]!) / m.physMem[from]!);
  const toAfter = Math.max((m.loadCpu[to]! + m.cpuLoad[v]!) / m.physCpu[to]!, (m.loadMem[to]! + m.memLoad[v]!) / m.physMem[to]!);
  return [m.util(from), fromAfter, m.util(to), toAfter];
}

/** Overload a move relieves: the excess it takes off its source less the excess it adds on its target. */
function reliefOf(limit: number, uFrom: number, uFromAfter: number, uTo: number, uToAfter: number): number {
  return excessOf(uFrom, limit) - excessOf(uFromAfter, limit) + excessOf(uTo, limit) - excessOf(uToAfter, limit);
}

/** The numbers of a chosen move of v from `from` to `to`. */
function describeMove(ctx: Ctx, v: number, from: number, to: number, s: Spread, stay: number): Move {
  const p = ctx.m.policy;
  const utils = utilsOf(ctx, v, from, to);
  const next = replaced(s, [utils[0], utils[2]], [utils[1], utils[3]]);
  const relief = reliefOf(loadLimit(ctx.m), ...utils);
  const benefit = (squares(s) - squares(next) + relief) * p.horizonS;
  const migrationS = migrationSeconds(ctx, v);
  const cost = migrationS * p.costWeight;
  const net = benefit - cost - (softPenalty(ctx, v, to) - stay) * p.threshold * p.horizonS;
  return { v, from, to, before: stddev(s), after: stddev(next), benefit, relief, cost, migrationS, net, utils };
}

/**
 * Adds the moves of VM v off `from` that pay for themselves by the numbers (must-constraints are checked later);
 * with `reliefOnly`, only those that relieve overload. Allocation-free: it runs thousands of times a step.
 */
function movesOf(ctx: Ctx, v: number, from: number, targets: number[], s: Spread, out: Candidates, reliefOnly: boolean): void {
  const { m } = ctx;
  const p = m.policy;
  const limit = loadLimit(m);
  const stay = softPenalty(ctx, v, from);
  const cost = migrationSeconds(ctx, v) * p.costWeight;
  const sq0 = squares(s);
  const uFrom = m.util(from);
  const uFromAfter = Math.max((m.loadCpu[from]! - m.cpuLoad[v]!) / m.physCpu[from]!, (m.loadMem[from]! - m.memLoad[v]!) / m.physMem[from]!);
  for (const to of targets) {
    if (to === from) continue;
    const uTo = m.util(to);
    const uToAfter = Math.max((m.loadCpu[to]! + m.cpuLoad[v]!) / m.physCpu[to]!, (m.loadMem[to]! + m.memLoad[v]!) / m.physMem[to]!);
    const sum = s.sum - uFrom - uTo + uFromAfter + uToAfter;
    const sumSq = s.sumSq - uFrom * uFrom - uTo * uTo + uFromAfter * uFromAfter + uToAfter * uToAfter;
    const relief = reliefOf(limit, uFrom, uFromAfter, uTo, uToAfter);
    if (reliefOnly && relief <= 1e-9) continue;
    const benefit = (sq0 - Math.max(0, sumSq - (sum * sum) / s.n) + relief) * p.horizonS;
    if (benefit <= cost) continue;
    // Should-rules only lower the net below this bound: skip the count when even the bound cannot be kept.
    if (benefit - cost + stay * p.threshold * p.horizonS < out.floor()) continue;
    const net = benefit - cost - (softPenalty(ctx, v, to) - stay) * p.threshold * p.horizonS;
    if (net <= 0) continue;
    out.add(v, from, to, net);
  }
}

/** The must-constraint or HA admission a move would break, or null when it keeps them all. */
function breaks(ctx: Ctx, v: number, from: number, to: number, bounds: { cpu: number; mem: number }): string | null {
  const { m } = ctx;
  m.remove(v);
  const why = violation(m, needOf(m, [v]), to, haView(m, bounds));
  m.place(v, from);
  return why;
}

/** Candidate indexes best first (net, then VM, then target). */
function ranked(c: Candidates): number[] {
  const order = Array.from({ length: c.v.length }, (_, i) => i);
  return order.sort((i, j) => (better(c.net[i]!, c.v[i]!, c.to[i]!, c.net[j]!, c.v[j]!, c.to[j]!) ? -1 : 1));
}

/**
 * The first allowed candidate, best first. A target that has no memory (or vCPUs) for a VM has none for a larger
 * one either: those candidates are skipped unchecked.
 */
function firstAllowed(ctx: Ctx, c: Candidates, bounds: { cpu: number; mem: number }): number {
  const { m } = ctx;
  const noMem = new Map<number, number>();
  const noCpu = new Map<number, number>();
  for (const i of ranked(c)) {
    const v = c.v[i]!;
    const to = c.to[i]!;
    if (m.mem[v]! >= (noMem.get(to) ?? Infinity) || m.cpu[v]! >= (noCpu.get(to) ?? Infinity)) continue;
    const why = breaks(ctx, v, c.from[i]!, to, bounds);
    if (why === null) return i;
    if (why === 'memory') noMem.set(to, Math.min(m.mem[v]!, noMem.get(to) ?? Infinity));
    if (why === 'cpu') noCpu.set(to, Math.min(m.cpu[v]!, noCpu.get(to) ?? Infinity));
  }
  return -1;
}

/** Sources: the most loaded hosts above the mean (or the load limit); with `reliefOnly`, above the limit. Targets: the least loaded below the mean (or the limit). */
function endpoints(ctx: Ctx, reliefOnly: boolean): { sources: number[]; targets: number[] } {
  const { m } = ctx;
  const ready: number[] = [];
  for (let h = 0; h < m.H; h++) if (m.ready[h]) ready.push(h);
  const byUtil = ready.map((h) => ({ h, u: m.util(h) })).sort((a, b) => b.u - a.u || a.h - b.h);
  const mean = byUtil.reduce((a, x) => a + x.u, 0) / Math.max(1, byUtil.length);
  const limit = loadLimit(m);
  const above = reliefOnly ? limit : Math.min(mean, limit);
  const below = Math.max(mean, limit);
  const sources = byUtil.slice(0, SOURCES).filter((x) => x.u > above).map((x) => x.h);
  const targets = [...byUtil].sort((a, b) => a.u - b.u || a.h - b.h).slice(0, TARGETS).filter((x) => x.u < below).map((x) => x.h);
  return { sources, targets };
}

/** The allowed move with the best net benefit: VMs of the most loaded hosts to the least loaded ones. */
function bestMove(ctx: Ctx, moved: Set<number>, reliefOnly: boolean): Move | null {
  const { m } = ctx;
  const { sources, targets } = endpoints(ctx, reliefOnly);
  const s = spreadOf(m);
  const bounds = haDeficit(m);
  // Usually the best move by the numbers is allowed: find it without keeping the others.
  for (const keepAll of [false, true]) {
    const c = new Candidates(keepAll);
    for (const from of sources) {
      for (const v of m.hostVms[from]!) if (movable(ctx, v, moved)) movesOf(ctx, v, from, targets, s, c, reliefOnly);
    }
    const i = firstAllowed(ctx, c, bounds);
    if (i >= 0) return describeMove(ctx, c.v[i]!, c.from[i]!, c.to[i]!, s, softPenalty(ctx, c.v[i]!, c.from[i]!));
  }
  return null;
}

function moveAction(ctx: Ctx, mv: Move): ExplainedAction {
  const { m } = ctx;
  const [uf, ufa, ut, uta] = mv.utils.map((u) => round(u));
  const name = m.snapshot.vms[mv.v]!.name ?? m.vmIds[mv.v]!;
  const relief = mv.relief > 1e-9 ? ` and the load above the ${round(loadLimit(m) * 100, 1)}% limit by ${round(mv.relief)}` : '';
  return {
    action: { kind: 'migrate', vm: m.vmIds[mv.v]!, from: m.hostIds[mv.from]!, to: m.hostIds[mv.to]! },
    reason: `balance: moving ${name} from ${m.hostName(mv.from)} (load ${uf} -> ${ufa}) to ${m.hostName(mv.to)} (${ut} -> ${uta}) lowers the imbalance ${round(mv.before)} -> ${round(mv.after)}${relief}; benefit ${round(mv.benefit, 1)} over ${m.policy.horizonS} s beats the migration cost ${round(mv.cost, 1)} (${round(mv.migrationS, 1)} s)`,
    scoreBefore: round(mv.before, 4),
    scoreAfter: round(mv.after, 4),
    numbers: {
      memoryMiB: m.mem[mv.v]!, dirtyMiBs: m.snapshot.vms[mv.v]!.dirtyMiBs ?? 0, migrationS: round(mv.migrationS, 2),
      benefit: round(mv.benefit, 2), relief: round(mv.relief, 4), cost: round(mv.cost, 2), net: round(mv.net, 2),
      fromUtilBefore: uf!, fromUtilAfter: ufa!, toUtilBefore: ut!, toUtilAfter: uta!,
    },
  };
}

export interface BalanceResult {
  actions: ExplainedAction[];
  unplaced: Unplaced[];
  metrics: Record<string, number>;
}

export function balance(ctx: Ctx): BalanceResult {
  const { m } = ctx;
  const p = m.policy;
  const before = stddev(spreadOf(m));
  let cooling = 0;
  for (let v = 0; v < m.V; v++) if (m.vmHost[v]! >= 0 && inCooldown(ctx, v)) cooling++;
  const over = overloadOf(m);
  const metrics: Record<string, number> = {
    imbalanceBefore: round(before, 4), threshold: p.threshold, target: round(p.threshold * p.hysteresis, 4), vmsInCooldown: cooling,
    overLimitBefore: over.hosts, excessBefore: round(over.excess, 4),
  };
  const actions: ExplainedAction[] = [];
  let unplaced: Unplaced[] = [];
  if (p.automation !== 'off') {
    // Must-constraints broken where VMs run now are repaired first (repair.ts).
    const r = repair(ctx, p.maxMoves);
    actions.push(...r.actions);
    unplaced = r.unplaced;
    metrics.mustBroken = r.broken;
    metrics.repairs = r.actions.length;
    const moved = r.moved;
    let now = r.actions.length > 0 ? stddev(spreadOf(m)) : before;
    const imbalanced = before > p.threshold;
    if (imbalanced || hottest(m) > hotLevel(m) + 1e-9) {
      while (actions.length < p.maxMoves) {
        const spreading = imbalanced && now > p.threshold * p.hysteresis;
        if (!spreading && hottest(m) <= loadLimit(m) + 1e-9) break;
        const mv = bestMove(ctx, moved, !spreading);
        if (!mv) break;
        m.place(mv.v, mv.to);
        moved.add(mv.v);
        actions.push(moveAction(ctx, mv));
        now = mv.after;
      }
    }
  }
  const after = stddev(spreadOf(m));
  const left = overloadOf(m);
  return { actions, unplaced, metrics: { ...metrics, imbalanceAfter: round(after, 4), overLimitAfter: left.hosts, excessAfter: round(left.excess, 4), moves: actions.length } };
}
