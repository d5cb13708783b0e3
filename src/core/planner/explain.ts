// Why a VM could not be placed or moved: every host is checked once, and the
// hosts are grouped by the constraint that stopped the VM there (a host
// class), so 10,000 hosts read as a few lines. Explanations are cached per VM
// shape within one plan.
import { poolViolation, violation, type Constraint, type Need } from './constraints.js';
import type { HaView } from './ha.js';
import type { Model } from './model.js';
import type { Unplaced } from './plan.js';

const LISTED = 5;
/** Distinct VM shapes explained in full per plan; the rest point to the limit. */
const MAX_EXPLAINED = 2000;

type Reason = Unplaced['reasons'][number];

interface HostClass {
  constraint: Constraint;
  detail: string;
  hosts: number[];
}

function classKey(m: Model, need: Need, h: number, c: Constraint): string {
  if (c === 'host-state') return `${c}:${m.snapshot.hosts[h]!.state}`;
  if (c === 'affinity' || c === 'anti-affinity') return `${c}:${firstGroup(m, need, h, c === 'anti-affinity') ?? ''}`;
  return c;
}

function firstGroup(m: Model, need: Need, h: number, anti: boolean): string | null {
  if (anti && need.conflict !== null) return need.conflict;
  for (const { g } of need.groups) {
    const info = m.groups[g]!;
    if (!info.must || info.anti !== anti) continue;
    const on = m.groupCountOn(h, g);
    if (anti ? on > 0 : m.groupPlaced[g]! > on) return info.id;
  }
  return null;
}

/** "; up to N MiB held back for the hosts themselves" when some of `hosts` reserve any (their free room is counted after it). */
function reservedNote(m: Model, hosts: readonly number[], key: 'reservedMemoryMiB' | 'reservedCpus', amount: (n: number) => string): string {
  const most = Math.max(0, ...hosts.map((x) => m.snapshot.hosts[x]![key] ?? 0));
  return most > 0 ? `; after up to ${amount(most)} held back for the hosts themselves` : '';
}

function detailOf(m: Model, need: Need, cls: HostClass, ha: HaView): string {
  const h = cls.hosts;
  const most = (f: (x: number) => number) => Math.max(...h.map(f));
  const round = (x: number) => Math.round(x * 100) / 100;
  switch (cls.constraint) {
    case 'host-state': {
      const state = m.snapshot.hosts[h[0]!]!.state;
      return state === 'ready' ? 'the host being emptied' : `host is ${state}, only ready hosts take VMs`;
    }
    case 'host-label':
      return `host labels do not match the must rule(s) ${need.must.map((r) => JSON.stringify(r.labels)).join(', ')}`;
    case 'affinity':
      return need.conflict ?? `must run with the other VMs of affinity group ${firstGroup(m, need, h[0]!, false)}, which are elsewhere`;
    case 'anti-affinity':
      return need.conflict !== null ? `its must-affinity partners share must-anti-affinity group ${need.conflict}` : `already runs a VM of must-anti-affinity group ${firstGroup(m, need, h[0]!, true)}`;
    case 'memory':
      return `needs ${need.mem} MiB; these hosts have at most ${round(most((x) => m.capMem[x]! - m.allocMem[x]!))} MiB free (memory overcommit x${m.policy.overcommitMemory}${reservedNote(m, h, 'reservedMemoryMiB', (n) => `${n} MiB`)})`;
    case 'cpu':
      return `needs ${need.cpu} vCPUs; these hosts have at most ${round(most((x) => m.capCpu[x]! - m.allocCpu[x]!))} free (CPU overcommit x${m.policy.overcommitCpu}${reservedNote(m, h, 'reservedCpus', (n) => `${n} CPU${n === 1 ? '' : 's'}`)})`;
    case 'disk':
      return `needs ${need.disk} GiB of local disk; these hosts have at most ${round(most((x) => m.capDisk[x]! - m.allocDisk[x]!))} GiB free`;
    case 'pool-limit':
    case 'pool-reservation':
      return need.pool?.detail ?? 'a resource pool refuses it';
    case 'headroom':
      return `would load the host above ${round((m.loadLimit ?? 1) * 100)}% (headroom ${m.policy.headroom})`;
    case 'ha-admission':
      return `would leave too little spare capacity to restart the HA VMs of any ${ha.failures} failed host(s) (memory deficit ${round(Math.max(0, ha.mem.topF - ha.mem.spare))} MiB, CPU deficit ${round(Math.max(0, ha.cpu.topF - ha.cpu.spare))} vCPUs before it)`;
  }
}

export class Explainer {
  private readonly cache = new Map<string, Reason[]>();

  constructor(private readonly m: Model) {}

  /** The host classes that stop `need` (its VMs detached from the model). */
  reasons(need: Need, ha: HaView): Reason[] {
    const sig = JSON.stringify([need.mem, need.cpu, need.disk, need.cpuLoad, need.memLoad, need.nonHaMem, need.nonHaCpu, need.must, need.groups, need.conflict, poolViolation(this.m, need)?.detail]);
    const hit = this.cache.get(sig);
    if (hit) return hit;
    if (this.cache.size >= MAX_EXPLAINED) return [{ hosts: [], constraint: 'not-explained', detail: `only the first ${MAX_EXPLAINED} kinds of VM are explained in one plan`, hostCount: 0 }];
    const out = this.compute(need, ha);
    this.cache.set(sig, out);
    return out;
  }

  private compute(need: Need, ha: HaView): Reason[] {
    const m = this.m;
    const classes = new Map<string, HostClass>();
    const free: number[] = [];
    for (let h = 0; h < m.H; h++) {
      const c = violation(m, need, h, ha);
      if (c === null) {
        free.push(h);
        continue;
      }
      const key = classKey(m, need, h, c);
      const cls = classes.get(key) ?? { constraint: c, detail: '', hosts: [] };
      cls.hosts.push(h);
      classes.set(key, cls);
    }
    const out: Reason[] = [...classes.values()].map((cls) => ({
      hosts: cls.hosts.slice(0, LISTED).map((h) => m.hostIds[h]!),
      constraint: cls.constraint,
      detail: detailOf(m, need, cls, ha),
      hostCount: cls.hosts.length,
    }));
    if (m.H === 0) out.push({ hosts: [], constraint: 'no-hosts', detail: 'the snapshot has no hosts', hostCount: 0 });
    if (free.length > 0) out.push({ hosts: free.slice(0, LISTED).map((h) => m.hostIds[h]!), constraint: 'none', detail: 'fits here but was not chosen (its must-affinity partners could not all go there)', hostCount: free.length });
    return out;
  }
}
