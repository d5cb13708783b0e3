// A small, obvious planner for the simulator's own tests, so they do not
// depend on the real one (src/core/planner). It honours memory capacity,
// must anti-affinity and must host rules; it is not smart and not fast.
//   place: spread (most free memory) or pack (first fit);  ha-restart: the
//   same for HA VMs of hosts the snapshot does not list;  evacuate: move
//   every VM off the host;  balance: move the smallest VM from the busiest
//   to the idlest host while the CPU spread exceeds the threshold;
//   consolidate: wake a standby host when CPU use passes 1 - headroom,
//   else empty the idlest host and put it to standby when the rest can take it.
import type { ExplainedAction, Plan, PlanGoal, Unplaced } from '../../core/planner/plan.js';
import type { ClusterSnapshot, SnapshotHost, SnapshotVm } from '../../core/planner/snapshot.js';
import type { Planner } from '../planner-port.js';

interface Load {
  host: SnapshotHost;
  cpu: number;
  mem: number;
  vms: SnapshotVm[];
}

class Model {
  readonly loads = new Map<string, Load>();
  readonly ocCpu: number;
  readonly ocMem: number;
  constructor(readonly s: ClusterSnapshot) {
    this.ocCpu = s.policy?.overcommit?.cpu ?? 4;
    this.ocMem = s.policy?.overcommit?.memory ?? 1;
    for (const h of s.hosts) this.loads.set(h.id, { host: h, cpu: 0, mem: 0, vms: [] });
    for (const v of s.vms) if (v.host && this.loads.has(v.host)) this.add(v, v.host);
  }
  add(v: SnapshotVm, host: string): void {
    const l = this.loads.get(host)!;
    l.cpu += v.cpuUsage ?? v.cpus;
    l.mem += v.memoryMiB;
    l.vms.push(v);
  }
  remove(v: SnapshotVm, host: string): void {
    const l = this.loads.get(host)!;
    l.cpu -= v.cpuUsage ?? v.cpus;
    l.mem -= v.memoryMiB;
    l.vms = l.vms.filter((x) => x !== v);
  }
  memCap(h: SnapshotHost): number {
    return (h.memoryMiB - (h.reservedMemoryMiB ?? 0)) * this.ocMem;
  }
  cpuUtil(l: Load): number {
    return l.cpu / (l.host.cpus - (l.host.reservedCpus ?? 0));
  }
  ready(): Load[] {
    return [...this.loads.values()].filter((l) => l.host.state === 'ready');
  }
  fits(v: SnapshotVm, l: Load): boolean {
    if (l.host.state !== 'ready' || l.mem + v.memoryMiB > this.memCap(l.host)) return false;
    for (const r of v.hostRules ?? []) {
      if (r.strength === 'must' && Object.entries(r.labels).some(([k, x]) => l.host.labels?.[k] !== x)) return false;
    }
    const anti = (this.s.groups ?? []).filter((g) => g.kind === 'anti-affinity' && g.strength === 'must' && g.vms.includes(v.id));
    return !anti.some((g) => l.vms.some((x) => x !== v && g.vms.includes(x.id)));
  }
  target(v: SnapshotVm, except?: string): Load | undefined {
    const ok = this.ready().filter((l) => l.host.id !== except && this.fits(v, l));
    if (this.s.policy?.placement === 'pack') return ok[0];
    return ok.sort((a, b) => a.mem / this.memCap(a.host) - b.mem / this.memCap(b.host))[0];
  }
}

const unplaced = (v: SnapshotVm): Unplaced => ({ vm: v.id, reasons: [{ hosts: [], constraint: 'capacity', detail: 'no ready host has room' }] });
const act = (action: ExplainedAction['action'], reason: string): ExplainedAction => ({ action, reason });

export const simplePlanner: Planner = (snapshot: ClusterSnapshot, goal: PlanGoal): Plan => {
  const m = new Model(snapshot);
  const out: Plan = { goal, actions: [], unplaced: [], metrics: {} };
  if (goal === 'place' || goal === 'ha-restart') placeAll(m, out, goal);
  else if (goal === 'balance') balance(m, out);
  else if (goal === 'consolidate') consolidate(m, out);
  else if (goal !== 'grow') evacuate(m, out, goal.evacuate);
  return out;
};

function placeAll(m: Model, out: Plan, goal: 'place' | 'ha-restart'): void {
  for (const v of m.s.vms) {
    const lost = v.host !== null && !m.loads.has(v.host);
    if (goal === 'place' ? v.host !== null : !(lost && v.ha)) continue;
    const t = m.target(v);
    if (!t) {
      out.unplaced.push(unplaced(v));
      continue;
    }
    m.add(v, t.host.id);
    out.actions.push(goal === 'place' ? act({ kind: 'place', vm: v.id, host: t.host.id }, 'room') : act({ kind: 'restart', vm: v.id, from: v.host!, to: t.host.id }, 'its host failed'));
  }
}

function evacuate(m: Model, out: Plan, hostId: string): void {
  const l = m.loads.get(hostId);
  if (!l) throw new Error(`evacuate: no host ${hostId}`);
  for (const v of [...l.vms]) {
    const t = m.target(v, hostId);
    if (!t) {
      out.unplaced.push(unplaced(v));
      continue;
    }
    m.remove(v, hostId);
    m.add(v, t.host.id);
    out.actions.push(act({ kind: 'migrate', vm: v.id, from: hostId, to: t.host.id }, 'maintenance'));
  }
}

function balance(m: Model, out: Plan): void {
  const b = m.s.policy?.balance ?? {};
  const now = m.s.nowMs ?? 0;
  const moved = new Set<string>();
  for (let moves = 0; moves < (b.maxMoves ?? 8); moves++) {
    const ready = m.ready().sort((x, y) => m.cpuUtil(y) - m.cpuUtil(x));
    const hot = ready[0];
    const cold = ready[ready.length - 1];
    if (!hot || !cold || m.cpuUtil(hot) - m.cpuUtil(cold) <= (b.threshold ?? 0.1)) return;
    const movable = hot.vms.filter((v) => !moved.has(v.id) && now - (v.lastMovedAtMs ?? -Infinity) >= (b.cooldownMs ?? 3_600_000) && m.fits(v, cold));
    const v = movable.sort((x, y) => (x.cpuUsage ?? 0) - (y.cpuUsage ?? 0))[0];
    if (!v) return;
    m.remove(v, hot.host.id);
    m.add(v, cold.host.id);
    moved.add(v.id);
    out.actions.push(act({ kind: 'migrate', vm: v.id, from: hot.host.id, to: cold.host.id }, 'imbalance'));
  }
}

function consolidate(m: Model, out: Plan): void {
  const limit = 1 - (m.s.policy?.headroom ?? 0.2);
  const ready = m.ready();
  const cap = ready.reduce((x, l) => x + l.host.cpus, 0);
  const use = ready.reduce((x, l) => x + l.cpu, 0);
  if (use > limit * cap) {
    const asleep = [...m.loads.values()].find((l) => l.host.state === 'standby');
    if (asleep) out.actions.push(act({ kind: 'power-on', host: asleep.host.id }, 'demand above headroom'));
    return;
  }
  const idlest = ready.sort((a, b) => a.cpu - b.cpu)[0];
  if (!idlest || ready.length < 2 || use > limit * (cap - idlest.host.cpus)) return;
  const moves: ExplainedAction[] = [];
  for (const v of [...idlest.vms]) {
    const t = m.target(v, idlest.host.id);
    if (!t) return; // cannot empty it: leave it on
    m.remove(v, idlest.host.id);
    m.add(v, t.host.id);
    moves.push(act({ kind: 'migrate', vm: v.id, from: idlest.host.id, to: t.host.id }, 'consolidate'));
  }
  out.actions.push(...moves, act({ kind: 'standby', host: idlest.host.id }, 'idle'));
}
