// Reallocation by need (goal grow): a VM busy on nearly all its vCPUs wants
// more than it has. It is grown where it runs when its host has the room
// (live vCPU hot-add), else moved by live migration to a host that has room
// for it at its grown size and grown there (the resize comes in the wave
// after the move). A VM grows to the vCPUs that bring its use down to the
// target utilization, never past its maxCpus.
//
// Room is counted the way the overload rule counts it (overload.ts): after
// the change a host's CPU load stays within its load limit (1 - headroom of
// its physical cores), and its allocation within capacity x overcommit. A
// grown VM is expected to settle at the target utilization of its new size
// (its demand past what it has is unknown: it is saturated), never below
// what it uses now.
// Every must-constraint and HA admission hold for a move, as for the
// balancer's; a VM in a must-affinity group, in flight, resized within the
// grow cooldown or moved within the balancer's cooldown is left as it is.
// A growth its resource pool's limit, or the other pools' unused
// reservations, would not admit is not planned (docs/resource-pools.md).
import { needOf, violation } from './constraints.js';
import { round, type Ctx } from './context.js';
import { haDeficit, haView } from './ha.js';
import { inCooldown } from './balance.js';
import { loadLimit } from './overload.js';
import type { ExplainedAction, Unplaced } from './plan.js';
import type { SnapshotVm } from './snapshot.js';

const EPS = 1e-6;

export interface GrowResult {
  actions: ExplainedAction[];
  unplaced: Unplaced[];
  metrics: Record<string, number>;
}

/** vCPUs that bring `usage` to the target utilization, between cpus + 1 and maxCpus. */
export function grownCpus(usage: number, cpus: number, maxCpus: number, targetUtil: number): number {
  return Math.min(maxCpus, Math.max(cpus + 1, Math.ceil(usage / targetUtil - EPS)));
}

/** The CPU load a VM grown to `cpus` is expected to put on its host. */
export function grownLoad(usage: number, cpus: number, targetUtil: number): number {
  return Math.max(usage, cpus * targetUtil);
}

/** A snapshot VM as a resize to `cpus` at `nowMs` leaves it (for plans applied to a snapshot). */
export function grownVm(vm: SnapshotVm, cpus: number, targetUtil: number, nowMs: number): SnapshotVm {
  return { ...vm, cpus, cpuUsage: grownLoad(vm.cpuUsage ?? vm.cpus, cpus, targetUtil), lastResizedAtMs: nowMs };
}

/** VMs that need more vCPUs and may get them, busiest (by share of their vCPUs) first. */
function needy(ctx: Ctx): number[] {
  const { m } = ctx;
  const p = m.policy;
  const now = m.snapshot.nowMs ?? 0;
  const out: number[] = [];
  for (let v = 0; v < m.V; v++) {
    const s = m.snapshot.vms[v]!;
    if (m.vmHost[v]! < 0 || !m.ready[m.vmHost[v]!] || m.inFlight(v) || s.cpuUsage === undefined) continue;
    if ((s.maxCpus ?? s.cpus) <= s.cpus || s.cpuUsage < p.growAt * s.cpus - EPS) continue;
    if (s.lastResizedAtMs !== undefined && now - s.lastResizedAtMs < p.growCooldownMs) continue;
    out.push(v);
  }
  return out.sort((a, b) => m.cpuLoad[b]! / m.cpu[b]! - m.cpuLoad[a]! / m.cpu[a]! || a - b);
}

/** Sets the VM's vCPUs and CPU load (it must be detached from its host). */
function setSize(ctx: Ctx, v: number, cpus: number, load: number): void {
  ctx.m.cpu[v] = cpus;
  ctx.m.cpuLoad[v] = load;
}

/** Room on host t for detached VM v: CPU load within the load limit, then every must-constraint and HA admission. */
function fits(ctx: Ctx, v: number, t: number, bounds: { cpu: number; mem: number }): boolean {
  const { m } = ctx;
  if (m.loadCpu[t]! + m.cpuLoad[v]! > loadLimit(m) * m.physCpu[t]! + EPS) return false;
  return violation(m, needOf(m, [v]), t, haView(m, bounds)) === null;
}

/** The host with the most CPU room after taking detached VM v, other than `from`; -1 when none has room. */
function roomiest(ctx: Ctx, v: number, from: number, bounds: { cpu: number; mem: number }): number {
  const { m } = ctx;
  let best = -1;
  let bestLoad = Infinity;
  for (let t = 0; t < m.H; t++) {
    if (t === from || !m.ready[t] || !fits(ctx, v, t, bounds)) continue;
    const load = (m.loadCpu[t]! + m.cpuLoad[v]!) / m.physCpu[t]!;
    if (load < bestLoad - EPS) [best, bestLoad] = [t, load];
  }
  return best;
}

function numbers(ctx: Ctx, v: number, h: number, cpus: number, to: number): Record<string, number | string> {
  const { m } = ctx;
  return {
    vcpus: m.snapshot.vms[v]!.cpus, cpuUsage: round(m.snapshot.vms[v]!.cpuUsage ?? 0), growAt: m.policy.growAt, newVcpus: to,
    hostLoadCpu: round(m.loadCpu[h]!), hostCores: round(m.physCpu[h]!), loadLimit: round(loadLimit(m)), maxCpus: cpus,
  };
}

function busy(ctx: Ctx, v: number): string {
  const s = ctx.m.snapshot.vms[v]!;
  return `${s.name ?? s.id} is busy on ${round(s.cpuUsage ?? 0, 2)} of its ${s.cpus} vCPU${s.cpus === 1 ? '' : 's'} (at or above ${Math.round(ctx.m.policy.growAt * 100)}%)`;
}

/** Grows VM v to `to` vCPUs in place, else moves it and grows it there; false when neither has room. */
function growOne(ctx: Ctx, v: number, to: number, out: GrowResult, moves: { left: number }): boolean {
  const { m } = ctx;
  const s = m.snapshot.vms[v]!;
  const h = m.vmHost[v]!;
  const [cpus, load] = [m.cpu[v]!, m.cpuLoad[v]!];
  const bounds = haDeficit(m);
  const n = numbers(ctx, v, h, s.maxCpus!, to);
  m.remove(v);
  setSize(ctx, v, to, grownLoad(load, to, m.policy.growTargetUtil));
  const vmId = m.vmIds[v]!;
  if (fits(ctx, v, h, bounds)) {
    m.place(v, h);
    out.actions.push({ action: { kind: 'resize', vm: vmId, host: m.hostIds[h]!, cpus: to }, reason: `${busy(ctx, v)}; ${m.hostName(h)} has room: grow it there to ${to} vCPUs`, numbers: n });
    return true;
  }
  const t = moves.left > 0 && ctx.units.members[ctx.units.unitOf[v]!]!.length === 1 && !inCooldown(ctx, v) ? roomiest(ctx, v, h, bounds) : -1;
  if (t < 0) {
    setSize(ctx, v, cpus, load);
    m.place(v, h);
    return false;
  }
  moves.left--;
  m.place(v, t);
  const why = `${busy(ctx, v)}; ${m.hostName(h)} has no room for ${to} (CPU load ${round(n.hostLoadCpu as number, 2)} of ${n.hostCores} cores, limit ${round(loadLimit(m) * 100, 0)}%)`;
  out.actions.push({ action: { kind: 'migrate', vm: vmId, from: m.hostIds[h]!, to: m.hostIds[t]! }, reason: `${why}: move it to ${m.hostName(t)}, which has, then grow it there`, numbers: { ...n, targetLoadCpu: round(m.loadCpu[t]! - m.cpuLoad[v]!) } });
  out.actions.push({ action: { kind: 'resize', vm: vmId, host: m.hostIds[t]!, cpus: to }, reason: `${s.name ?? s.id} moved to ${m.hostName(t)} for room: grow it there to ${to} vCPUs`, numbers: n });
  return true;
}

/** Why VM v may not grow to `to` vCPUs whatever the host: its resource pool's limit or the other pools' reservations. */
function poolProblem(ctx: Ctx, v: number, to: number): { constraint: string; detail: string } | null {
  const { m } = ctx;
  if (!m.pools) return null;
  const s = m.snapshot.vms[v]!;
  return m.pools.growProblem(v, { cpu: to - m.cpu[v]!, memoryMiB: 0 }, { cpu: m.spareCpu, memoryMiB: m.spareMem }, s.name ?? s.id);
}

export function grow(ctx: Ctx): GrowResult {
  const out: GrowResult = { actions: [], unplaced: [], metrics: {} };
  const moves = { left: ctx.m.policy.maxMoves };
  const want = needy(ctx);
  let unmet = 0;
  for (const v of want) {
    const s = ctx.m.snapshot.vms[v]!;
    const to = grownCpus(ctx.m.cpuLoad[v]!, ctx.m.cpu[v]!, s.maxCpus!, ctx.m.policy.growTargetUtil);
    const pool = poolProblem(ctx, v, to);
    const cpus = ctx.m.cpu[v]!;
    if (!pool && growOne(ctx, v, to, out, moves)) {
      ctx.m.pools?.grown(v, { cpu: to - cpus, memoryMiB: 0 });
      continue;
    }
    unmet++;
    const reason = pool ?? { constraint: 'cpu', detail: `${busy(ctx, v)}, and no host has CPU room for it at ${to} vCPUs` };
    out.unplaced.push({ vm: s.id, reasons: [{ hosts: [], ...reason }] });
  }
  out.metrics = { needy: want.length, grown: want.length - unmet, unmet, moves: ctx.m.policy.maxMoves - moves.left };
  return out;
}
