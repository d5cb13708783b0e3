// Relief, the first step of 'consolidate': the hosts left on must carry their
// load within the limit 1 - headroom (overload.ts). A ready host above the hot
// level (the limit + headroom x hysteresis) sheds VMs down to the limit, the
// largest load of its binding resource first, each to the host (below the
// limit) left least loaded, plus one per should-rule broken, among the first
// few that keep every must-constraint, HA admission and the limit itself. A move must pay for
// itself as a balance move does: the overload it removes times horizonS beats
// its migration cost. VMs in their cooldown, in flight, or bound to others by
// must affinity stay.
//
// One pass does what runs at once: at most maxMigrations relief moves per host
// (as source or target), so every relief move is in wave 0 and the pass ends
// with it; the next pass goes on. The load left above the limit for want of a
// host with room (or of one with a migration slot left) is what wakes hosts:
// standby hosts (largest first) are woken now until their capacity within the
// limit covers it. No VM moves onto them in this pass (they are still booting);
// the next pass fills them. While load is left so, consolidation puts no host
// to sleep.
import { inCooldown, migrationSeconds } from './balance.js';
import { needOf, penalty, utilAfter, violation, type Need } from './constraints.js';
import { round, type Ctx } from './context.js';
import { haDeficit, haView } from './ha.js';
import { excessOf, hotLevel, loadLimit } from './overload.js';
import type { ExplainedAction } from './plan.js';
import { DEFAULT_BOOT_SECONDS, standbyQueue, type Demand } from './power.js';

/** Feasible targets weighed per VM (the least loaded after wins), as placement's spread does. */
const CANDIDATES = 6;
/** VMs of one host tried before its load counts as having no room. */
const TRIES = 4;

export interface Relief {
  /** Power-ons first, then the migrations. */
  actions: ExplainedAction[];
  /** Hosts woken for relief (ready in the model from now on). */
  woken: number[];
  /** Hosts VMs left or reached, and hosts woken: consolidation leaves them on. */
  touched: Set<number>;
  /** Hosts stay above the limit for want of room or of migration slots, or hosts were woken: no host should sleep now. */
  short: boolean;
  metrics: Record<string, number>;
}

interface Pass {
  r: Relief;
  moves: ExplainedAction[];
  /** Relief moves each host may still take part in this pass. */
  slots: Int32Array;
  /** Ready hosts below the limit, least loaded first (at the start of the pass). */
  cool: number[];
  /** Load left above the limit on hot hosts for want of room (or of slots on hosts with room). */
  stuck: Demand;
}

/** VMs of host h that relief may move, the largest load of the host's binding resource first. */
function movableOn(ctx: Ctx, h: number): number[] {
  const { m, units } = ctx;
  const byCpu = m.loadCpu[h]! / m.physCpu[h]! >= m.loadMem[h]! / m.physMem[h]!;
  const key = (v: number) => (byCpu ? m.cpuLoad[v]! : m.memLoad[v]!);
  const vms = [...m.hostVms[h]!].filter((v) => units.members[units.unitOf[v]!]!.length === 1 && !inCooldown(ctx, v) && !m.inFlight(v));
  return vms.sort((a, b) => key(b) - key(a) || a - b);
}

/** The overload moving v off h removes (utilization), or 0 when that does not pay for the migration. */
function pays(ctx: Ctx, v: number, h: number, limit: number): number {
  const { m } = ctx;
  const after = Math.max((m.loadCpu[h]! - m.cpuLoad[v]!) / m.physCpu[h]!, (m.loadMem[h]! - m.memLoad[v]!) / m.physMem[h]!);
  const relief = excessOf(m.util(h), limit) - excessOf(after, limit);
  return relief * m.policy.horizonS > migrationSeconds(ctx, v) * m.policy.costWeight ? relief : 0;
}

/** The target for `need` (detached from host h): 'full' when no host has room, 'busy' when those with room have no slot left. */
function target(ctx: Ctx, p: Pass, need: Need, h: number, bounds: { cpu: number; mem: number }): number | 'full' | 'busy' {
  const { m } = ctx;
  const ha = haView(m, bounds);
  let best = -1;
  let bestScore = Infinity;
  let feasible = 0;
  let busy = false;
  for (const t of p.cool) {
    if (t === h || violation(m, need, t, ha) !== null) continue;
    if (p.slots[t]! <= 0) {
      busy = true;
      continue;
    }
    const score = utilAfter(m, need, t) + penalty(m, need, t);
    if (score < bestScore) [best, bestScore] = [t, score];
    if (++feasible >= CANDIDATES) break;
  }
  return best >= 0 ? best : busy ? 'busy' : 'full';
}

/** What shedding one VM came to: moved, or why not ('full': no room anywhere; 'busy': no slot on hosts with room; 'none': no move pays). */
type Shed = 'moved' | 'full' | 'busy' | 'none';

/** Moves one VM off hot host h. */
function shedOne(ctx: Ctx, p: Pass, h: number, limit: number): Shed {
  const { m } = ctx;
  let tries = 0;
  let busy = false;
  for (const v of movableOn(ctx, h)) {
    const relief = pays(ctx, v, h, limit);
    if (relief <= 0) continue;
    const before = m.util(h);
    const bounds = haDeficit(m);
    m.remove(v);
    const to = target(ctx, p, needOf(m, [v]), h, bounds);
    if (typeof to === 'number') {
      m.place(v, to);
      p.slots[h]!--;
      p.slots[to]!--;
      p.r.touched.add(h).add(to);
      p.moves.push(moveAction(ctx, v, h, to, before, relief, limit));
      return 'moved';
    }
    m.place(v, h);
    busy ||= to === 'busy';
    if (++tries >= TRIES) break;
  }
  return busy ? 'busy' : tries > 0 ? 'full' : 'none';
}

function moveAction(ctx: Ctx, v: number, h: number, to: number, before: number, relief: number, limit: number): ExplainedAction {
  const { m } = ctx;
  return {
    action: { kind: 'migrate', vm: m.vmIds[v]!, from: m.hostIds[h]!, to: m.hostIds[to]! },
    reason: `consolidate: relieves ${m.hostName(h)} (load ${round(before)} -> ${round(m.util(h))}, above the ${round(limit * 100, 1)}% the headroom leaves); ${m.hostName(to)} stays within it (${round(m.util(to))} after)`,
    numbers: { memoryMiB: m.mem[v]!, cpuLoad: round(m.cpuLoad[v]!), relief: round(relief, 4), migrationS: round(migrationSeconds(ctx, v), 2), fromUtilBefore: round(before), fromUtilAfter: round(m.util(h)), targetUtilAfter: round(m.util(to)) },
  };
}

/** Wakes standby hosts now until their capacity within the limit covers the load left for want of room. */
function wakeForStuck(ctx: Ctx, p: Pass, limit: number): ExplainedAction[] {
  const { m } = ctx;
  const queue = standbyQueue(ctx);
  const got = { cpu: 0, memoryMiB: 0 };
  const out: ExplainedAction[] = [];
  const t = m.snapshot.nowMs ?? 0;
  while ((got.cpu < p.stuck.cpu - 1e-6 || got.memoryMiB < p.stuck.memoryMiB - 1e-6) && queue.length > 0) {
    const q = queue.shift()!;
    const boot = m.snapshot.hosts[q]!.bootSeconds ?? DEFAULT_BOOT_SECONDS;
    out.push({
      action: { kind: 'power-on', host: m.hostIds[q]!, atMs: t },
      reason: `power: ${round(p.stuck.cpu, 2)} cores and ${round(p.stuck.memoryMiB, 0)} MiB of load above the ${round(limit * 100, 1)}% the headroom leaves find no host on with room for it in this pass; ${m.hostName(q)} boots in ${boot} s and takes some of it in the next`,
      numbers: { stuckCpu: round(p.stuck.cpu, 2), stuckMemoryMiB: round(p.stuck.memoryMiB, 0), wokenCpuUsable: round(got.cpu, 2), wokenMemoryMiBUsable: round(got.memoryMiB, 0), bootSeconds: boot },
    });
    m.setReady(q, true);
    p.r.woken.push(q);
    p.r.touched.add(q);
    got.cpu += limit * m.physCpu[q]!;
    got.memoryMiB += limit * m.physMem[q]!;
  }
  return out;
}

/** Relieves the ready hosts above `trigger` (default: the hot level) towards the load limit, for one wave. */
export function relieve(ctx: Ctx, trigger = hotLevel(ctx.m)): Relief {
  const { m } = ctx;
  const limit = loadLimit(m);
  const hot: number[] = [];
  const cool: number[] = [];
  for (let h = 0; h < m.H; h++) {
    if (!m.ready[h]) continue;
    if (m.util(h) > trigger + 1e-9) hot.push(h);
    else if (m.util(h) < limit - 1e-9) cool.push(h);
  }
  hot.sort((a, b) => m.util(b) - m.util(a) || a - b);
  cool.sort((a, b) => m.util(a) - m.util(b) || a - b);
  const p: Pass = { r: { actions: [], woken: [], touched: new Set(), short: false, metrics: {} }, moves: [], slots: Int32Array.from(m.maxMigrations), cool, stuck: { cpu: 0, memoryMiB: 0 } };
  let deferred = 0;
  for (const h of hot) {
    let why: Shed = 'moved';
    while (m.util(h) > limit + 1e-9 && p.slots[h]! > 0 && (why = shedOne(ctx, p, h, limit)) === 'moved');
    if (m.util(h) <= limit + 1e-9) continue;
    if (why === 'full' || why === 'busy') {
      // Hosts with room are missing, or too few to take it in one wave: wake some.
      p.stuck.cpu += Math.max(0, m.loadCpu[h]! - limit * m.physCpu[h]!);
      p.stuck.memoryMiB += Math.max(0, m.loadMem[h]! - limit * m.physMem[h]!);
    } else if (why !== 'none') deferred++;
  }
  const wakes = wakeForStuck(ctx, p, limit);
  p.r.actions = [...wakes, ...p.moves];
  p.r.short = wakes.length > 0 || deferred > 0 || p.stuck.cpu > 1e-6 || p.stuck.memoryMiB > 1e-6;
  p.r.metrics = { hotHosts: hot.length, reliefMoves: p.moves.length, reliefDeferred: deferred, reliefStuckCpu: round(p.stuck.cpu, 2), reliefPowerOn: wakes.length };
  return p.r;
}
