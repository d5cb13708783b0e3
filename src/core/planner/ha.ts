// HA admission control (docs/planner.md, "HA admission").
//
// For a resource r (memory MiB, vCPUs) and a ready host h:
//   spare_r(h) = capacity_r(h) - allocated_r(h)   (capacity after reservation and overcommit)
//   ha_r(h)    = allocation_r of the HA VMs on h
//   key_r(h)   = ha_r(h) + spare_r(h)
// When a set S of F ready hosts fails, their HA VMs need sum_{h in S} ha_r(h)
// and the survivors offer sum_{h not in S} spare_r(h) = Spare_r - sum_{h in S} spare_r(h).
// So every S survives iff the F largest keys sum to at most Spare_r (the total
// spare over ready hosts). deficit_r = (sum of the F largest key_r) - Spare_r;
// admission holds iff deficit_r <= 0 for memory and CPU. It is exact for
// divisible demand (no fragmentation); `ha-restart` does the real placement.
//
// A plan never creates or worsens a deficit: each action is admitted only if
// every deficit after it is <= max(0, the deficit before it).
import type { Model } from './model.js';

const EPS = 1e-6;

export interface HaResource {
  /** The F+1 largest keys (descending) and their hosts. */
  keys: number[];
  hosts: number[];
  topF: number;
  spare: number;
  /** The deficit a change may reach: max(0, deficit before the change). */
  bound: number;
}

export interface HaView {
  failures: number;
  cpu: HaResource;
  mem: HaResource;
}

function resource(tree: Model['haCpuTree'], spare: number, f: number, bound?: number): HaResource {
  const { keys, hosts } = tree.top(f + 1);
  let topF = 0;
  for (let i = 0; i < Math.min(f, keys.length); i++) topF += keys[i]!;
  return { keys, hosts, topF, spare, bound: bound ?? Math.max(0, topF - spare) };
}

/** The current deficits (<= 0: admission holds). */
export function haDeficit(m: Model): { cpu: number; mem: number } {
  const f = m.policy.failures;
  if (f <= 0) return { cpu: -Infinity, mem: -Infinity };
  const cpu = resource(m.haCpuTree, m.spareCpu, f);
  const mem = resource(m.haMemTree, m.spareMem, f);
  return { cpu: cpu.topF - cpu.spare, mem: mem.topF - mem.spare };
}

/** A view of the model's HA state for judging one change; `bounds` default to max(0, current deficit). */
export function haView(m: Model, bounds?: { cpu: number; mem: number }): HaView {
  const f = m.policy.failures;
  return {
    failures: f,
    cpu: resource(m.haCpuTree, m.spareCpu, f, bounds ? Math.max(0, bounds.cpu) : undefined),
    mem: resource(m.haMemTree, m.spareMem, f, bounds ? Math.max(0, bounds.mem) : undefined),
  };
}

/** The deficit after adding `all` on host h with key k, of which `nonHa` is not HA. */
function deficitAfter(r: HaResource, f: number, h: number, key: number, all: number, nonHa: number): number {
  let topF = r.topF;
  const i = r.hosts.indexOf(h);
  if (i >= 0 && i < f) topF = topF - key + Math.max(key - nonHa, r.keys[f] ?? -Infinity);
  return topF - (r.spare - all);
}

export interface HaNeed {
  cpu: number;
  mem: number;
  nonHaCpu: number;
  nonHaMem: number;
}

/** Whether putting `need` on ready host h keeps both deficits within their bounds. */
export function haAdmits(view: HaView, m: Model, h: number, need: HaNeed): boolean {
  if (view.failures <= 0) return true;
  const f = view.failures;
  const cpu = deficitAfter(view.cpu, f, h, m.haCpuTree.get(h), need.cpu, need.nonHaCpu);
  if (cpu > view.cpu.bound + EPS) return false;
  return deficitAfter(view.mem, f, h, m.haMemTree.get(h), need.mem, need.nonHaMem) <= view.mem.bound + EPS;
}

/**
 * Which hosts could admit `need` at all: 'all' (any host), 'none', or 'top'
 * (only hosts among the F largest keys, where the non-HA part lowers the top sum).
 */
export function haScope(view: HaView, need: HaNeed): 'all' | 'none' | 'top' {
  if (view.failures <= 0) return 'all';
  let scope: 'all' | 'top' = 'all';
  for (const [r, all, nonHa] of [[view.cpu, need.cpu, need.nonHaCpu], [view.mem, need.mem, need.nonHaMem]] as const) {
    const outside = r.topF - r.spare + all;
    if (outside <= r.bound + EPS) continue;
    if (outside - nonHa > r.bound + EPS) return 'none';
    scope = 'top';
  }
  return scope;
}

/** The hosts among the F largest keys of either resource. */
export function haTopHosts(view: HaView): number[] {
  const f = view.failures;
  return [...new Set([...view.cpu.hosts.slice(0, f), ...view.mem.hosts.slice(0, f)])];
}
