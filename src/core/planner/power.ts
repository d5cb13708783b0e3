// Demand and power-on planning. Demand is the VMs' load (measured use, else
// allocation): now, and forecast points (snapshot.forecast). The hosts on must
// offer (1 - headroom) of their physical CPU and memory against it. When a
// point's demand exceeds that, standby hosts are woken, each at
// point.atMs - bootSeconds (default 300 s), or now if that is already past.
// Resource pools (docs/resource-pools.md): the hosts on must also offer the
// physical CPU and memory the top-level reservations keep; standby hosts are
// woken now for what they lack.
import { round, type Ctx } from './context.js';
import type { Model } from './model.js';
import type { ExplainedAction } from './plan.js';

export const DEFAULT_BOOT_SECONDS = 300;

export interface Demand {
  cpu: number;
  memoryMiB: number;
}

/** The load of the VMs on ready hosts. */
export function loadOnReady(m: Model): Demand {
  const d = { cpu: 0, memoryMiB: 0 };
  for (let h = 0; h < m.H; h++) {
    if (!m.ready[h]) continue;
    d.cpu += m.loadCpu[h]!;
    d.memoryMiB += m.loadMem[h]!;
  }
  return d;
}

/** The largest demand, per resource, from now to now + lookaheadMs (now counts). */
export function demandPeak(m: Model, now: Demand, lookaheadMs: number): Demand {
  const t = m.snapshot.nowMs ?? 0;
  const peak = { ...now };
  for (const f of m.snapshot.forecast ?? []) {
    if (f.atMs < t || f.atMs > t + lookaheadMs) continue;
    peak.cpu = Math.max(peak.cpu, f.cpu);
    peak.memoryMiB = Math.max(peak.memoryMiB, f.memoryMiB);
  }
  return peak;
}

/** Standby hosts in waking order: largest first (memory, then CPUs), then host order. */
export function standbyQueue(ctx: Ctx): number[] {
  const { m } = ctx;
  const out: number[] = [];
  for (let h = 0; h < m.H; h++) if (m.snapshot.hosts[h]!.state === 'standby' && !m.ready[h]) out.push(h);
  return out.sort((a, b) => m.physMem[b]! - m.physMem[a]! || m.physCpu[b]! - m.physCpu[a]! || a - b);
}

interface Wake {
  on: Demand;
  /** Physical CPU and memory of the hosts on (the pools' reservations are kept against it). */
  phys: Demand;
  queue: number[];
  actions: ExplainedAction[];
  short: Demand;
}

function wakeFor(ctx: Ctx, w: Wake, point: { atMs: number } & Demand, label: string): void {
  const { m } = ctx;
  const keep = 1 - m.policy.headroom;
  const t = m.snapshot.nowMs ?? 0;
  while ((w.on.cpu < point.cpu - 1e-6 || w.on.memoryMiB < point.memoryMiB - 1e-6) && w.queue.length > 0) {
    const h = w.queue.shift()!;
    const boot = m.snapshot.hosts[h]!.bootSeconds ?? DEFAULT_BOOT_SECONDS;
    const atMs = Math.max(t, point.atMs - boot * 1000);
    const late = point.atMs - boot * 1000 < t ? `; ${round((t - (point.atMs - boot * 1000)) / 1000, 0)} s late, so now` : '';
    w.actions.push({
      action: { kind: 'power-on', host: m.hostIds[h]!, atMs },
      reason: `power: ${label} needs ${round(point.cpu, 2)} cores and ${round(point.memoryMiB, 0)} MiB with ${m.policy.headroom * 100}% headroom; the hosts on give ${round(w.on.cpu, 2)} cores and ${round(w.on.memoryMiB, 0)} MiB; ${m.hostName(h)} boots in ${boot} s${late}`,
      numbers: { demandAtMs: point.atMs, demandCpu: round(point.cpu, 2), demandMemoryMiB: round(point.memoryMiB, 0), onCpuUsable: round(w.on.cpu, 2), onMemoryMiBUsable: round(w.on.memoryMiB, 0), bootSeconds: boot },
    });
    w.on.cpu += keep * m.physCpu[h]!;
    w.on.memoryMiB += keep * m.physMem[h]!;
    w.phys.cpu += m.physCpu[h]!;
    w.phys.memoryMiB += m.physMem[h]!;
  }
  w.short.cpu = Math.max(w.short.cpu, point.cpu - w.on.cpu);
  w.short.memoryMiB = Math.max(w.short.memoryMiB, point.memoryMiB - w.on.memoryMiB);
}

/** Wakes standby hosts now while the hosts on offer less physical capacity than the pools' top-level reservations. */
function wakeForReservations(ctx: Ctx, w: Wake): void {
  const { m } = ctx;
  if (!m.pools) return;
  const need = m.pools.floor().physical;
  const keep = 1 - m.policy.headroom;
  while ((w.phys.cpu < need.cpu - 1e-6 || w.phys.memoryMiB < need.memoryMiB - 1e-6) && w.queue.length > 0) {
    const h = w.queue.shift()!;
    w.actions.push({
      action: { kind: 'power-on', host: m.hostIds[h]! },
      reason: `power: the resource pools reserve ${round(need.cpu, 2)} cores and ${round(need.memoryMiB, 0)} MiB; the hosts on have ${round(w.phys.cpu, 2)} cores and ${round(w.phys.memoryMiB, 0)} MiB; wake ${m.hostName(h)}`,
      numbers: { reservedCpu: round(need.cpu, 2), reservedMemoryMiB: round(need.memoryMiB, 0), onCpu: round(w.phys.cpu, 2), onMemoryMiB: round(w.phys.memoryMiB, 0) },
    });
    w.on.cpu += keep * m.physCpu[h]!;
    w.on.memoryMiB += keep * m.physMem[h]!;
    w.phys.cpu += m.physCpu[h]!;
    w.phys.memoryMiB += m.physMem[h]!;
  }
}

/**
 * Power-on actions for the demand now and at each forecast point, over the
 * hosts on after `asleep` went to standby. Candidates: hosts already in
 * standby (largest first) that relief did not wake, then those of `asleep`
 * (last put to sleep first).
 */
export function powerOns(ctx: Ctx, asleep: number[]): { actions: ExplainedAction[]; metrics: Record<string, number> } {
  const { m } = ctx;
  const keep = 1 - m.policy.headroom;
  const t = m.snapshot.nowMs ?? 0;
  const w: Wake = { on: { cpu: 0, memoryMiB: 0 }, phys: { cpu: 0, memoryMiB: 0 }, queue: [], actions: [], short: { cpu: 0, memoryMiB: 0 } };
  for (let h = 0; h < m.H; h++) {
    if (!m.ready[h]) continue;
    w.on.cpu += keep * m.physCpu[h]!;
    w.on.memoryMiB += keep * m.physMem[h]!;
    w.phys.cpu += m.physCpu[h]!;
    w.phys.memoryMiB += m.physMem[h]!;
  }
  w.queue = [...standbyQueue(ctx), ...[...asleep].reverse()];
  wakeForReservations(ctx, w);
  wakeFor(ctx, w, { atMs: t, ...loadOnReady(m) }, 'the load now');
  const points = (m.snapshot.forecast ?? []).filter((f) => f.atMs >= t).sort((a, b) => a.atMs - b.atMs);
  for (const f of points) wakeFor(ctx, w, { atMs: f.atMs, cpu: f.cpu, memoryMiB: f.memoryMiB }, `the forecast for ${round((f.atMs - t) / 1000, 0)} s from now`);
  return { actions: w.actions, metrics: { powerOn: w.actions.length, shortfallCpu: round(Math.max(0, w.short.cpu), 2), shortfallMemoryMiB: round(Math.max(0, w.short.memoryMiB), 0) } };
}
