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
import { needOf, ruleMatches, violation } from './constraints.js';
import { round, type Ctx } from './context.js';
import { haDeficit, haView } from './ha.js';
import { replaced, spreadOf, squares, stddev, type Spread } from './imbalance.js';
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

/** The numbers of a chosen move of v from `from` to `to`. */
function describeMove(ctx: Ctx, v: number, from: number, to: number, s: Spread, stay: number): Move {
  const p = ctx.m.policy;
  const utils = utilsOf(ctx, v, from, to);
  const next = replaced(s, [utils[0], utils[2]], [utils[1], utils[3]]);
  const benefit = (squares(s) - squares(next)) * p.horizonS;
  const migrationS = migrationSeconds(ctx, v);
  const cost = migrationS * p.costWeight;
  const net = benefit - cost - (softPenalty(ctx, v, to) - stay) * p.threshold * p.horizonS;
  return { v, from, to, before: stddev(s), after: stddev(next), benefit, cost, migrationS, net, utils };
}

/** Adds the moves of VM v off `from` that pay for themselves by the numbers (must-constraints are checked later). Allocation-free: it runs thousands of times a step. */
function movesOf(ctx: Ctx, v: number, from: number, targets: number[], s: Spread, out: Candidates): void {
  const { m } = ctx;
  const p = m.policy;
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
    const benefit = (sq0 - Math.max(0, sumSq - (sum * sum) / s.n)) * p.horizonS;
    if (benefit <= cost) continue;
    const net = benefit - cost - (softPenalty(ctx, v, to) - stay) * p.threshold * p.horizonS;
    if (net <= 0) continue;
    out.add(v, from, to, net);
  }
}

/** Whether a move keeps every must-constraint and HA admission. */
function allowed(ctx: Ctx, v: number, from: number, to: number, bounds: { cpu: number; mem: number }): boolean {
  const { m } = ctx;
  m.remove(v);
  const ok = violation(m, needOf(m, [v]), to, haView(m, bounds)) === null;
  m.place(v, from);
  return ok;
}

/** The index of the best remaining candidate (net, then VM, then target), or -1. */
function bestIndex(c: Candidates): number {
  let best = -1;
  for (let i = 0; i < c.net.length; i++) {
    if (c.net[i] === -Infinity) continue;
    if (best < 0 || better(c.net[i]!, c.v[i]!, c.to[i]!, c.net[best]!, c.v[best]!, c.to[best]!)) best = i;
  }
  return best;
}

/** The allowed move with the best net benefit: VMs of the most loaded hosts to the least loaded ones. */
function bestMove(ctx: Ctx, moved: Set<number>): Move | null {
  const { m } = ctx;
  const ready: number[] = [];
  for (let h = 0; h < m.H; h++) if (m.ready[h]) ready.push(h);
  const byUtil = ready.map((h) => ({ h, u: m.util(h) })).sort((a, b) => b.u - a.u || a.h - b.h);
  const mean = byUtil.reduce((a, x) => a + x.u, 0) / Math.max(1, byUtil.length);
  const sources = byUtil.slice(0, SOURCES).filter((x) => x.u > mean).map((x) => x.h);
  const targets = [...byUtil].sort((a, b) => a.u - b.u || a.h - b.h).slice(0, TARGETS).filter((x) => x.u < mean).map((x) => x.h);
  const s = spreadOf(m);
  const bounds = haDeficit(m);
  // Usually the best move by the numbers is allowed: find it without keeping the others.
  for (const keepAll of [false, true]) {
    const c = new Candidates(keepAll);
    for (const from of sources) {
      for (const v of m.hostVms[from]!) if (movable(ctx, v, moved)) movesOf(ctx, v, from, targets, s, c);
    }
    for (let i = bestIndex(c); i >= 0; i = bestIndex(c)) {
      if (allowed(ctx, c.v[i]!, c.from[i]!, c.to[i]!, bounds)) return describeMove(ctx, c.v[i]!, c.from[i]!, c.to[i]!, s, softPenalty(ctx, c.v[i]!, c.from[i]!));
      c.net[i] = -Infinity;
    }
  }
  return null;
}

function moveAction(ctx: Ctx, mv: Move): ExplainedAction {
  const { m } = ctx;
  const [uf, ufa, ut, uta] = mv.utils.map((u) => round(u));
  const name = m.snapshot.vms[mv.v]!.name ?? m.vmIds[mv.v]!;
  return {
    action: { kind: 'migrate', vm: m.vmIds[mv.v]!, from: m.hostIds[mv.from]!, to: m.hostIds[mv.to]! },
    reason: `balance: moving ${name} from ${m.hostName(mv.from)} (load ${uf} -> ${ufa}) to ${m.hostName(mv.to)} (${ut} -> ${uta}) lowers the imbalance ${round(mv.before)} -> ${round(mv.after)}; benefit ${round(mv.benefit, 1)} over ${m.policy.horizonS} s beats the migration cost ${round(mv.cost, 1)} (${round(mv.migrationS, 1)} s)`,
    scoreBefore: round(mv.before, 4),
    scoreAfter: round(mv.after, 4),
    numbers: {
      memoryMiB: m.mem[mv.v]!, dirtyMiBs: m.snapshot.vms[mv.v]!.dirtyMiBs ?? 0, migrationS: round(mv.migrationS, 2),
      benefit: round(mv.benefit, 2), cost: round(mv.cost, 2), net: round(mv.net, 2),
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
  const metrics: Record<string, number> = { imbalanceBefore: round(before, 4), threshold: p.threshold, target: round(p.threshold * p.hysteresis, 4), vmsInCooldown: cooling };
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
    if (before > p.threshold) {
      while (actions.length < p.maxMoves && now > p.threshold * p.hysteresis) {
        const mv = bestMove(ctx, moved);
        if (!mv) break;
        m.place(mv.v, mv.to);
        moved.add(mv.v);
        actions.push(moveAction(ctx, mv));
        now = mv.after;
      }
    }
  }
  const after = stddev(spreadOf(m));
  return { actions, unplaced, metrics: { ...metrics, imbalanceAfter: round(after, 4), moves: actions.length } };
}
