// Goal 'consolidate' (power): first relieve the hosts above 1 - headroom
// (relieve.ts: their VMs go to hosts with room, or to standby hosts woken for
// them); then empty the least-loaded ready hosts onto the
// others and put them to standby, while the hosts left on
//   - carry their VMs' load within (1 - headroom) of their physical CPU and memory,
//   - satisfy every must-constraint and HA admission (deficits never worsen),
//   - together offer (1 - headroom) * capacity >= the peak demand over the
//     forecast lookahead, and number at least power.minHostsOn,
//   - keep the resource pools' reservations: physical capacity for the
//     top-level reservations, and free room for the part not used yet (pools.ts).
// A host that received VMs in the pass, or that relief touched or woke, is not emptied later (no VM moves twice),
// nor one holding a VM still in its cooldown (no back and forth with the balancer),
// nor one a live migration under way leaves or enters (migratingTo).
// Then standby hosts are woken ahead of demand (power.ts).
import { attempt, restore, round, settle, unitsWhere, type Attempt, type Ctx } from './context.js';
import { inCooldown } from './balance.js';
import { haDeficit } from './ha.js';
import type { ExplainedAction } from './plan.js';
import { demandPeak, loadOnReady, type Demand } from './power.js';
import type { PoolState } from './pools.js';
import { relieve } from './relieve.js';

interface Pass {
  actions: ExplainedAction[];
  receivers: Set<number>;
  onCpu: number;
  onMem: number;
  on: number;
  /** Physical CPU and memory of the hosts on, and what the pools need kept (null: no pools). */
  physCpu: number;
  physMem: number;
  floor: ReturnType<PoolState['floor']> | null;
}

/** Whether the hosts left on without h still keep the pools' reservations. */
function keepsReservations(ctx: Ctx, pass: Pass, h: number): boolean {
  const { m } = ctx;
  const f = pass.floor;
  if (!f) return true;
  const physOk = pass.physCpu - m.physCpu[h]! >= f.physical.cpu - 1e-6 && pass.physMem - m.physMem[h]! >= f.physical.memoryMiB - 1e-6;
  return physOk && m.spareCpu - m.capCpu[h]! >= f.unused.cpu - 1e-6 && m.spareMem - m.capMem[h]! >= f.unused.memoryMiB - 1e-6;
}

function fits(ctx: Ctx, pass: Pass, h: number, peak: Demand): boolean {
  const { m } = ctx;
  const keep = 1 - m.policy.headroom;
  if (pass.on - 1 < Math.max(1, m.policy.minHostsOn)) return false;
  if (!keepsReservations(ctx, pass, h)) return false;
  return pass.onCpu - keep * m.physCpu[h]! >= peak.cpu - 1e-6 && pass.onMem - keep * m.physMem[h]! >= peak.memoryMiB - 1e-6;
}

/** Empties host h onto the other ready hosts, or undoes everything and returns null. */
function empty(ctx: Ctx, h: number): Attempt[] | null {
  const { m } = ctx;
  const bounds = haDeficit(m);
  m.setReady(h, false);
  const done: Attempt[] = [];
  for (const members of unitsWhere(ctx, (v) => m.vmHost[v] === h, [...m.hostVms[h]!])) {
    const a = attempt(ctx, members, 'pack', { bounds });
    if (!a.choice) {
      restore(ctx, a);
      break;
    }
    settle(ctx, a);
    done.push(a);
  }
  const after = haDeficit(m);
  const haOk = after.cpu <= Math.max(0, bounds.cpu) + 1e-6 && after.mem <= Math.max(0, bounds.mem) + 1e-6;
  if (m.hostVms[h]!.size === 0 && haOk) return done;
  for (const a of done.reverse()) restore(ctx, a);
  m.setReady(h, true);
  return null;
}

/**
 * A VM that moved within its cooldown stays where it is: consolidation must not undo the balancer's recent work.
 * Nor is a host emptied while a live migration leaves it or comes to it.
 */
function pinned(ctx: Ctx, h: number): boolean {
  if (ctx.m.incoming[h]! > 0) return true;
  for (const v of ctx.m.hostVms[h]!) if (inCooldown(ctx, v) || ctx.m.inFlight(v)) return true;
  return false;
}

function moveActions(ctx: Ctx, h: number, done: Attempt[]): ExplainedAction[] {
  const { m } = ctx;
  return done.flatMap((a) =>
    a.need.members.map((v) => ({
      action: { kind: 'migrate' as const, vm: m.vmIds[v]!, from: m.hostIds[h]!, to: m.hostIds[a.choice!.host]! },
      reason: `consolidate: empties ${m.hostName(h)} so it can sleep; ${m.hostName(a.choice!.host)} is the fullest host that still has room within the ${m.policy.headroom * 100}% headroom`,
      numbers: { memoryMiB: m.mem[v]!, cpuLoad: round(m.cpuLoad[v]!), memoryLoadMiB: round(m.memLoad[v]!), targetUtilAfter: round(m.util(a.choice!.host)) },
    })),
  );
}

function standbyAction(ctx: Ctx, h: number, pass: Pass, peak: Demand): ExplainedAction {
  const { m } = ctx;
  return {
    action: { kind: 'standby', host: m.hostIds[h]! },
    reason: `consolidate: ${m.hostName(h)} is empty; the ${pass.on} host(s) left on cover the peak demand of the next ${m.policy.lookaheadMs / 60000} min (${round(peak.cpu, 2)} cores, ${round(peak.memoryMiB, 0)} MiB) with ${m.policy.headroom * 100}% headroom`,
    numbers: { hostsOn: pass.on, onCpuUsable: round(pass.onCpu, 2), onMemoryMiBUsable: round(pass.onMem, 0), peakCpu: round(peak.cpu, 2), peakMemoryMiB: round(peak.memoryMiB, 0) },
  };
}

function countReady(ctx: Ctx): number {
  let n = 0;
  for (let h = 0; h < ctx.m.H; h++) n += ctx.m.ready[h]!;
  return n;
}

export function consolidate(ctx: Ctx): { actions: ExplainedAction[]; standby: number[]; metrics: Record<string, number> } {
  const { m } = ctx;
  const keep = 1 - m.policy.headroom;
  const hostsOnBefore = countReady(ctx);
  const relief = relieve(ctx);
  const pass: Pass = { actions: [...relief.actions], receivers: new Set(relief.touched), onCpu: 0, onMem: 0, on: 0, physCpu: 0, physMem: 0, floor: m.pools?.floor() ?? null };
  const ready: number[] = [];
  for (let h = 0; h < m.H; h++) {
    if (!m.ready[h]) continue;
    ready.push(h);
    pass.on++;
    pass.onCpu += keep * m.physCpu[h]!;
    pass.onMem += keep * m.physMem[h]!;
    pass.physCpu += m.physCpu[h]!;
    pass.physMem += m.physMem[h]!;
  }
  const now = loadOnReady(m);
  const peak = demandPeak(m, now, m.policy.lookaheadMs);
  const candidates = ready.map((h) => ({ h, u: m.util(h), n: m.hostVms[h]!.size })).sort((a, b) => a.u - b.u || a.n - b.n || a.h - b.h);
  const standby: number[] = [];
  // While hosts on are above the limit for want of room, no host sleeps.
  for (const { h } of relief.short ? [] : candidates) {
    if (pass.receivers.has(h) || !fits(ctx, pass, h, peak) || pinned(ctx, h)) continue;
    const done = empty(ctx, h);
    if (!done) continue;
    pass.on--;
    pass.onCpu -= keep * m.physCpu[h]!;
    pass.onMem -= keep * m.physMem[h]!;
    pass.physCpu -= m.physCpu[h]!;
    pass.physMem -= m.physMem[h]!;
    for (const a of done) pass.receivers.add(a.choice!.host);
    pass.actions.push(...moveActions(ctx, h, done), standbyAction(ctx, h, pass, peak));
    standby.push(h);
  }
  const metrics = { ...relief.metrics, hostsOnBefore, hostsOnAfter: pass.on, standby: standby.length, demandCpu: round(now.cpu, 2), demandMemoryMiB: round(now.memoryMiB, 0), peakCpu: round(peak.cpu, 2), peakMemoryMiB: round(peak.memoryMiB, 0) };
  return { actions: pass.actions, standby, metrics };
}
