// The first step of goal 'balance': VMs whose current host breaks one of
// their must-constraints move before anything is balanced. Such states come
// from constraints set after the VMs were placed (a must host rule or a
// must group added over running VMs, a label taken off a host). A unit
// (VMs that must share a host) is broken when a member's host does not
// match one of its must host rules, when a member shares its host with
// another VM of one of its must-anti-affinity groups, or when its members
// are on more than one host. It moves as a whole to a host that keeps every
// must-constraint and HA admission (members already there stay); a unit no
// host can take stays, and is reported with the reason per host class.
// Repairs ignore the cooldown (a must-constraint outranks it; a repaired
// unit is never broken again by its own move) and count against maxMoves.
import { ruleMatches } from './constraints.js';
import { attempt, restore, settle, unitsWhere, unplacedOf, type Ctx } from './context.js';
import type { ExplainedAction, Unplaced } from './plan.js';

export interface RepairResult {
  actions: ExplainedAction[];
  unplaced: Unplaced[];
  moved: Set<number>;
  /** Units found breaking a must-constraint. */
  broken: number;
}

/** What breaks the unit's must-constraints where it is, or null when nothing does. */
export function brokenBy(ctx: Ctx, members: number[]): string | null {
  const { m } = ctx;
  const name = (v: number) => m.snapshot.vms[v]!.name ?? m.vmIds[v]!;
  const hosts = new Set(members.map((v) => m.vmHost[v]!));
  if (hosts.size > 1) return `${members.map(name).join(', ')} must share a host and are on ${[...hosts].map((h) => m.hostName(h)).join(', ')}`;
  for (const v of members) {
    const h = m.vmHost[v]!;
    const labels = m.snapshot.hosts[h]!.labels;
    for (const r of m.snapshot.vms[v]!.hostRules ?? []) {
      if (r.strength === 'must' && !ruleMatches(labels, r)) return `${name(v)} runs on ${m.hostName(h)}, whose labels do not match its must rule ${JSON.stringify(r.labels)}`;
    }
    for (const g of m.vmGroups[v]!) {
      const info = m.groups[g]!;
      if (info.anti && info.must && m.groupCountOn(h, g) > 1) return `${name(v)} shares ${m.hostName(h)} with another VM of must-anti-affinity group ${info.id}`;
    }
  }
  return null;
}

export function repair(ctx: Ctx, budget: number): RepairResult {
  const { m } = ctx;
  const out: RepairResult = { actions: [], unplaced: [], moved: new Set(), broken: 0 };
  // One cheap pass over the units finds the broken ones; only those are ordered (largest first) and judged again.
  const suspects: number[] = [];
  for (const members of ctx.units.members) {
    const v = members[0]!;
    if (members.length === 1 && m.vmGroups[v]!.length === 0 && !m.snapshot.vms[v]!.hostRules?.length) continue;
    if (members.every((x) => m.vmHost[x]! >= 0 && !m.inFlight(x)) && brokenBy(ctx, members) !== null) suspects.push(...members);
  }
  if (suspects.length === 0) return out;
  for (const members of unitsWhere(ctx, () => true, suspects)) {
    // An earlier repair may have mended this one (its anti-affine partner moved away).
    const why = brokenBy(ctx, members);
    if (why === null) continue;
    out.broken++;
    if (out.actions.length + members.length > budget) continue;
    const a = attempt(ctx, members, m.policy.placement);
    if (!a.choice) {
      out.unplaced.push(...unplacedOf(ctx, a));
      restore(ctx, a);
      continue;
    }
    settle(ctx, a);
    const to = a.choice.host;
    members.forEach((v, i) => {
      const from = a.from[i]!;
      if (from === to) return;
      out.moved.add(v);
      out.actions.push({
        action: { kind: 'migrate', vm: m.vmIds[v]!, from: m.hostIds[from]!, to: m.hostIds[to]! },
        reason: `repair: ${why}; ${m.hostName(to)} keeps every must rule${a.choice!.penalty > 0 ? ` (it breaks ${a.choice!.penalty} should-rule(s), no host with room breaks fewer)` : ''}`,
        numbers: { memoryMiB: m.mem[v]!, cpus: m.cpu[v]!, shouldViolations: a.choice!.penalty },
      });
    });
  }
  return out;
}
