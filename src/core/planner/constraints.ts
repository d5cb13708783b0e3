// Must-constraints (a filter) and should-constraints (a score penalty) for a
// set of VMs that move together onto one host. The VMs are detached from the
// model while they are judged (taken off their hosts), so counts on the
// target are of the other VMs only.
import { haAdmits, type HaView } from './ha.js';
import type { Model } from './model.js';
import type { PoolVerdict } from './pools.js';
import type { SnapshotVm } from './snapshot.js';

/** Checked in this order; the first that fails names the reason. */
export const CONSTRAINTS = ['host-state', 'pool-limit', 'pool-reservation', 'host-label', 'affinity', 'anti-affinity', 'memory', 'cpu', 'disk', 'headroom', 'ha-admission'] as const;
export type Constraint = (typeof CONSTRAINTS)[number];

type Rule = NonNullable<SnapshotVm['hostRules']>[number];

export interface Need {
  members: number[];
  cpu: number;
  mem: number;
  disk: number;
  cpuLoad: number;
  memLoad: number;
  nonHaCpu: number;
  nonHaMem: number;
  must: Rule[];
  should: Rule[];
  /** Group ids by kind, with how many of the members belong to each. */
  groups: Array<{ g: number; n: number }>;
  /** A must-anti-affinity group two members share: no host will do. */
  conflict: string | null;
  /** Resource pool verdict of its VMs not placed yet, found once (pools.ts); undefined: not looked at yet. */
  pool?: PoolVerdict | null;
}

export function needOf(m: Model, members: number[], conflict: string | null = null): Need {
  const need: Need = { members, cpu: 0, mem: 0, disk: 0, cpuLoad: 0, memLoad: 0, nonHaCpu: 0, nonHaMem: 0, must: [], should: [], groups: [], conflict };
  const counts = new Map<number, number>();
  for (const v of members) {
    need.cpu += m.cpu[v]!;
    need.mem += m.mem[v]!;
    need.disk += m.disk[v]!;
    need.cpuLoad += m.cpuLoad[v]!;
    need.memLoad += m.memLoad[v]!;
    if (!m.ha[v]) {
      need.nonHaCpu += m.cpu[v]!;
      need.nonHaMem += m.mem[v]!;
    }
    for (const r of m.snapshot.vms[v]!.hostRules ?? []) (r.strength === 'must' ? need.must : need.should).push(r);
    for (const g of m.vmGroups[v]!) counts.set(g, (counts.get(g) ?? 0) + 1);
  }
  need.groups = [...counts].map(([g, n]) => ({ g, n }));
  return need;
}

export function ruleMatches(labels: Record<string, string> | undefined, rule: Rule): boolean {
  for (const [k, val] of Object.entries(rule.labels)) if (labels?.[k] !== val) return false;
  return true;
}

const EPS = 1e-6;

function groupViolation(m: Model, need: Need, h: number): Constraint | null {
  for (const { g } of need.groups) {
    const info = m.groups[g]!;
    if (!info.must) continue;
    const on = m.groupCountOn(h, g);
    if (info.anti ? on > 0 : m.groupPlaced[g]! > on) return info.anti ? 'anti-affinity' : 'affinity';
  }
  return null;
}

function resourceViolation(m: Model, need: Need, h: number): Constraint | null {
  if (m.allocMem[h]! + need.mem > m.capMem[h]! + EPS) return 'memory';
  if (m.allocCpu[h]! + need.cpu > m.capCpu[h]! + EPS) return 'cpu';
  if (need.disk > 0 && m.allocDisk[h]! + need.disk > m.capDisk[h]! + EPS) return 'disk';
  const lim = m.loadLimit;
  if (lim !== undefined && (m.loadCpu[h]! + need.cpuLoad > lim * m.physCpu[h]! + EPS || m.loadMem[h]! + need.memLoad > lim * m.physMem[h]! + EPS)) return 'headroom';
  return null;
}

/** The first must-constraint that stops `need` on host h, or null when it may go there. */
export function violation(m: Model, need: Need, h: number, ha: HaView): Constraint | null {
  if (!m.ready[h]) return 'host-state';
  const pool = poolViolation(m, need);
  if (pool) return pool.constraint;
  const labels = m.snapshot.hosts[h]!.labels;
  for (const r of need.must) if (!ruleMatches(labels, r)) return 'host-label';
  if (need.conflict !== null) return 'anti-affinity';
  const g = groupViolation(m, need, h);
  if (g) return g;
  const r = resourceViolation(m, need, h);
  if (r) return r;
  return haAdmits(ha, m, h, need) ? null : 'ha-admission';
}

/** Whether the need's VMs not placed yet break a resource pool limit or reservation (the same on every host; found once per need). */
export function poolViolation(m: Model, need: Need): PoolVerdict | null {
  if (!m.pools) return null;
  if (need.pool === undefined) {
    const size = (v: number) => ({ cpu: m.cpu[v]!, memoryMiB: m.mem[v]! });
    need.pool = m.pools.verdict(need, size, { cpu: m.spareCpu, memoryMiB: m.spareMem }, (v) => m.snapshot.vms[v]!.name ?? m.vmIds[v]!);
  }
  return need.pool;
}

/** Should-constraints broken on host h: unmatched host rules, anti-affine VMs beside, affine VMs elsewhere. */
export function penalty(m: Model, need: Need, h: number): number {
  let p = 0;
  const labels = m.snapshot.hosts[h]!.labels;
  for (const r of need.should) if (!ruleMatches(labels, r)) p++;
  for (const { g, n } of need.groups) {
    const info = m.groups[g]!;
    if (info.must) continue;
    const on = m.groupCountOn(h, g);
    p += info.anti ? n * on : n * (m.groupPlaced[g]! - on);
  }
  return p;
}

/** Load utilization of host h with `need` added. */
export function utilAfter(m: Model, need: Need, h: number): number {
  return Math.max((m.loadCpu[h]! + need.cpuLoad) / m.physCpu[h]!, (m.loadMem[h]! + need.memLoad) / m.physMem[h]!);
}

/** Hosts of other placed VMs of the need's affinity groups (candidates worth a look). */
export function affineHosts(m: Model, need: Need): number[] {
  const out = new Set<number>();
  for (const { g } of need.groups) {
    const info = m.groups[g]!;
    if (info.anti) continue;
    for (const v of info.vms) if (m.vmHost[v]! >= 0) out.add(m.vmHost[v]!);
  }
  return [...out];
}
