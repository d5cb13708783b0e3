// An independent checker of plans: `applyPlan` applies a plan's actions in
// order to a snapshot, and says which were illegal. Written plainly (no
// indexes, no shared code with the planner but the policy defaults), so tests
// can trust it as an oracle. Legal means, at each action: the VM is where the
// action says, the target is ready, capacity (allocation against capacity
// after reservation and overcommit, per resource) holds, must host rules and
// must anti-affinity hold, HA deficits do not grow past max(0, before) (not
// for restarts), waves respect per-host migration limits, and no VM in flight
// (migratingTo, counted on both hosts) is moved. Must affinity is
// checked on the final state (its VMs move one at a time).
import { grownVm } from './grow.js';
import { resolvePolicy, type ResolvedPolicy } from './policy.js';
import type { Plan, PlanAction } from './plan.js';
import type { ClusterSnapshot, SnapshotHost, SnapshotVm } from './snapshot.js';

export interface ApplyResult {
  snapshot: ClusterSnapshot;
  errors: string[];
}

const EPS = 1e-6;

function membership(s: ClusterSnapshot): Map<string, Set<string>> {
  const groups = new Map<string, Set<string>>();
  for (const g of s.groups ?? []) groups.set(g.id, new Set([...(groups.get(g.id) ?? []), ...g.vms]));
  for (const v of s.vms) for (const g of v.groups ?? []) groups.get(g)?.add(v.id);
  return groups;
}

function used(s: ClusterSnapshot, hostId: string): { cpu: number; mem: number; disk: number; haCpu: number; haMem: number } {
  const u = { cpu: 0, mem: 0, disk: 0, haCpu: 0, haMem: 0 };
  for (const v of s.vms) {
    // A VM in flight (migratingTo) counts on its target as well, not as HA there.
    if (v.host !== hostId && v.migratingTo === hostId) {
      u.cpu += v.cpus;
      u.mem += v.memoryMiB;
      u.disk += v.localDiskGiB ?? 0;
      continue;
    }
    if (v.host !== hostId) continue;
    u.cpu += v.cpus;
    u.mem += v.memoryMiB;
    u.disk += v.localDiskGiB ?? 0;
    if (v.ha) {
      u.haCpu += v.cpus;
      u.haMem += v.memoryMiB;
    }
  }
  return u;
}

function caps(h: SnapshotHost, p: ResolvedPolicy): { cpu: number; mem: number; disk: number } {
  return { cpu: (h.cpus - (h.reservedCpus ?? 0)) * p.overcommitCpu, mem: (h.memoryMiB - (h.reservedMemoryMiB ?? 0)) * p.overcommitMemory, disk: h.diskGiB ?? Infinity };
}

/** HA deficits per docs/planner.md: sum of the F largest (ha + spare) minus the total spare, over ready hosts. */
export function haDeficits(s: ClusterSnapshot): { cpu: number; mem: number } {
  const p = resolvePolicy(s);
  if (p.failures <= 0) return { cpu: -Infinity, mem: -Infinity };
  const rows = s.hosts.filter((h) => h.state === 'ready').map((h) => {
    const u = used(s, h.id);
    const c = caps(h, p);
    return { cpuSpare: c.cpu - u.cpu, memSpare: c.mem - u.mem, haCpu: u.haCpu, haMem: u.haMem };
  });
  const deficit = (spare: (r: (typeof rows)[number]) => number, ha: (r: (typeof rows)[number]) => number) => {
    const keys = rows.map((r) => ha(r) + spare(r)).sort((a, b) => b - a);
    return keys.slice(0, p.failures).reduce((a, b) => a + b, 0) - rows.reduce((a, r) => a + spare(r), 0);
  };
  return { cpu: deficit((r) => r.cpuSpare, (r) => r.haCpu), mem: deficit((r) => r.memSpare, (r) => r.haMem) };
}

function labelsMatch(h: SnapshotHost, labels: Record<string, string>): boolean {
  return Object.entries(labels).every(([k, v]) => h.labels?.[k] === v);
}

/** Problems of VM `vm` running on host `hostId` in state `s` (the VM itself not counted there yet). */
function placementErrors(s: ClusterSnapshot, vm: SnapshotVm, hostId: string, p: ResolvedPolicy): string[] {
  const h = s.hosts.find((x) => x.id === hostId);
  if (!h) return [`${vm.id}: no host ${hostId}`];
  if (h.state !== 'ready') return [`${vm.id}: host ${hostId} is ${h.state}`];
  const errors: string[] = [];
  const u = used(s, hostId);
  const c = caps(h, p);
  if (u.mem + vm.memoryMiB > c.mem + EPS) errors.push(`${vm.id}: memory on ${hostId} ${u.mem}+${vm.memoryMiB} > ${c.mem}`);
  if (u.cpu + vm.cpus > c.cpu + EPS) errors.push(`${vm.id}: vCPUs on ${hostId} ${u.cpu}+${vm.cpus} > ${c.cpu}`);
  if (u.disk + (vm.localDiskGiB ?? 0) > c.disk + EPS) errors.push(`${vm.id}: local disk on ${hostId} over ${c.disk} GiB`);
  for (const r of vm.hostRules ?? []) if (r.strength === 'must' && !labelsMatch(h, r.labels)) errors.push(`${vm.id}: host ${hostId} breaks must rule ${JSON.stringify(r.labels)}`);
  const groups = membership(s);
  for (const g of s.groups ?? []) {
    if (g.kind !== 'anti-affinity' || g.strength !== 'must' || !groups.get(g.id)?.has(vm.id)) continue;
    const other = s.vms.find((o) => o.id !== vm.id && o.host === hostId && groups.get(g.id)!.has(o.id));
    if (other) errors.push(`${vm.id}: anti-affinity ${g.id} with ${other.id} on ${hostId}`);
  }
  return errors;
}

function withVm(s: ClusterSnapshot, id: string, change: Partial<SnapshotVm>): ClusterSnapshot {
  return { ...s, vms: s.vms.map((v) => (v.id === id ? { ...v, ...change } : v)) };
}

function withHost(s: ClusterSnapshot, id: string, state: SnapshotHost['state']): ClusterSnapshot {
  return { ...s, hosts: s.hosts.map((h) => (h.id === id ? { ...h, state } : h)) };
}

function haWorse(before: { cpu: number; mem: number }, after: { cpu: number; mem: number }): boolean {
  return after.cpu > Math.max(0, before.cpu) + EPS || after.mem > Math.max(0, before.mem) + EPS;
}

/** A live vCPU resize: the VM is where the action says, grows within its maxCpus, and still fits its host. */
function resizeStep(s: ClusterSnapshot, act: Extract<PlanAction, { kind: 'resize' }>, p: ResolvedPolicy): ApplyResult {
  const vm = s.vms.find((v) => v.id === act.vm);
  if (!vm) return { snapshot: s, errors: [`resize ${act.vm}: no such VM`] };
  const errors: string[] = [];
  if (vm.host !== act.host) errors.push(`resize ${vm.id}: it is on ${vm.host}, not ${act.host}`);
  if (act.cpus > (vm.maxCpus ?? vm.cpus)) errors.push(`resize ${vm.id}: ${act.cpus} vCPUs is above its maxCpus ${vm.maxCpus ?? vm.cpus}`);
  const grown = grownVm(vm, act.cpus, p.growTargetUtil, s.nowMs ?? 0);
  errors.push(...placementErrors(withVm(s, vm.id, { host: null }), grown, act.host, p));
  return { snapshot: withVm(s, vm.id, grown), errors };
}

/** Applies one action; returns the new state and its errors (HA admission aside). */
function step(s: ClusterSnapshot, a: Plan['actions'][number], p: ResolvedPolicy): ApplyResult {
  const act = a.action;
  let next = s;
  const errors: string[] = [];
  if (act.kind === 'power-on' || act.kind === 'standby') {
    const h = s.hosts.find((x) => x.id === act.host);
    const want = act.kind === 'power-on' ? 'standby' : 'ready';
    if (!h || h.state !== want) errors.push(`${act.kind} ${act.host}: host is ${h?.state ?? 'unknown'}, not ${want}`);
    if (act.kind === 'standby' && s.vms.some((v) => v.host === act.host || v.migratingTo === act.host)) errors.push(`standby ${act.host}: it still has VMs`);
    next = withHost(s, act.host, act.kind === 'power-on' ? 'ready' : 'standby');
  } else if (act.kind === 'resize') {
    return resizeStep(s, act, p);
  } else {
    const vm = s.vms.find((v) => v.id === act.vm);
    if (!vm) return { snapshot: s, errors: [`${act.kind} ${act.vm}: no such VM`] };
    const to = act.kind === 'place' ? act.host : act.to;
    const from = act.kind === 'place' ? null : act.from;
    if (vm.host !== from) errors.push(`${act.kind} ${vm.id}: it is on ${vm.host}, not ${from}`);
    if (act.kind === 'migrate' && from === to) errors.push(`migrate ${vm.id}: from and to are the same host`);
    if (act.kind === 'migrate' && vm.migratingTo !== undefined) errors.push(`${act.kind} ${vm.id}: a live migration of it to ${vm.migratingTo} is under way`);
    if (act.kind === 'restart' && s.hosts.some((h) => h.id === from && h.state === 'ready')) errors.push(`restart ${vm.id}: its host ${from} is ready`);
    errors.push(...placementErrors(withVm(s, vm.id, { host: null }), vm, to, p));
    next = withVm(s, vm.id, act.kind === 'migrate' ? { host: to, lastMovedAtMs: s.nowMs ?? 0 } : { host: to });
  }
  return { snapshot: next, errors };
}

function waveErrors(s: ClusterSnapshot, plan: Plan, p: ResolvedPolicy): string[] {
  const errors: string[] = [];
  const perWave = new Map<string, number>();
  const lastOut = new Map<string, number>();
  for (const a of plan.actions) {
    const act = a.action;
    if (a.wave === undefined) continue;
    const target = act.kind === 'place' ? act.host : act.kind === 'migrate' || act.kind === 'restart' ? act.to : act.host;
    if (act.kind !== 'power-on' && a.wave <= (lastOut.get(target) ?? -1)) errors.push(`${JSON.stringify(act)}: wave ${a.wave} does not follow the move off ${target}`);
    if (act.kind !== 'migrate') continue;
    for (const h of [act.from, act.to]) {
      const k = `${a.wave}/${h}`;
      perWave.set(k, (perWave.get(k) ?? 0) + 1);
      const max = s.hosts.find((x) => x.id === h)?.maxMigrations ?? p.migrationsPerHost;
      if (perWave.get(k)! > max) errors.push(`wave ${a.wave}: host ${h} runs more than ${max} migrations`);
    }
    lastOut.set(act.from, Math.max(lastOut.get(act.from) ?? -1, a.wave));
  }
  return errors;
}

/** Must affinity in a state: each must-affinity group's placed VMs share one host. */
export function affinityErrors(s: ClusterSnapshot): string[] {
  const groups = membership(s);
  const out: string[] = [];
  for (const g of s.groups ?? []) {
    if (g.kind !== 'affinity' || g.strength !== 'must') continue;
    const hosts = new Set(s.vms.filter((v) => groups.get(g.id)!.has(v.id) && v.host !== null && s.hosts.some((h) => h.id === v.host)).map((v) => v.host));
    if (hosts.size > 1) out.push(`affinity ${g.id} spans hosts ${[...hosts].join(', ')}`);
  }
  return out;
}

/** Capacity and must-constraint problems of a state (each VM judged against the others). */
export function checkState(s: ClusterSnapshot): string[] {
  const p = resolvePolicy(s);
  const out: string[] = [];
  for (const v of s.vms) {
    if (v.host === null || !s.hosts.some((h) => h.id === v.host && h.state === 'ready')) continue;
    out.push(...placementErrors(withVm(s, v.id, { host: null }), v, v.host, p));
  }
  return [...out, ...affinityErrors(s)];
}

/**
 * HA admission along a plan: no action may raise a deficit past max(0, the
 * deficit before it), except that emptying a host for standby counts as one
 * step, from before its first migration to its standby (the planner takes
 * the host out of the pool first, then moves its VMs).
 */
class HaWatch {
  private readonly sleeping: Set<string>;
  private readonly blockStart = new Map<string, { cpu: number; mem: number }>();
  constructor(plan: Plan) {
    this.sleeping = new Set(plan.actions.flatMap((a) => (a.action.kind === 'standby' ? [a.action.host] : [])));
  }

  check(act: Plan['actions'][number]['action'], before: { cpu: number; mem: number }, after: () => { cpu: number; mem: number }): string[] {
    if (act.kind === 'restart' || act.kind === 'power-on') return [];
    if (act.kind === 'migrate' && this.sleeping.has(act.from)) {
      if (!this.blockStart.has(act.from)) this.blockStart.set(act.from, before);
      return [];
    }
    const base = act.kind === 'standby' ? (this.blockStart.get(act.host) ?? before) : before;
    return haWorse(base, after()) ? [`${JSON.stringify(act)}: HA admission got worse`] : [];
  }
}

/**
 * Applies a plan's actions in order and lists every illegal one (empty: the
 * plan is legal). For an evacuation the host is put in maintenance first, as
 * the caller does. Migrated VMs get lastMovedAtMs = nowMs.
 */
export function applyPlan(snapshot: ClusterSnapshot, plan: Plan): ApplyResult {
  const p = resolvePolicy(snapshot);
  let s = snapshot;
  const goal = plan.goal;
  if (typeof goal === 'object') {
    const h = s.hosts.find((x) => x.id === goal.evacuate) ?? s.hosts.find((x) => x.name === goal.evacuate);
    if (h && h.state === 'ready') s = withHost(s, h.id, 'maintenance');
  }
  const errors: string[] = [...waveErrors(snapshot, plan, p)];
  const watch = new HaWatch(plan);
  for (const a of plan.actions) {
    const before = haDeficits(s);
    const r = step(s, a, p);
    errors.push(...r.errors);
    if (goal !== 'ha-restart') errors.push(...watch.check(a.action, before, () => haDeficits(r.snapshot)));
    s = r.snapshot;
  }
  const broken = new Set(affinityErrors(snapshot));
  errors.push(...affinityErrors(s).filter((e) => !broken.has(e)));
  return { snapshot: s, errors };
}
