// What one automation pass decides, given the live snapshot and the levels:
// pure (the planner of src/core does the work). Power goes first (goal
// consolidate: migrations that empty hosts, their standby, power-ons); grow
// (reallocation by need: busy VMs grown where they run, else moved to room
// and grown there) plans next, on the cluster as the power plan leaves it;
// the balancer last, on the cluster as both leave it. A later goal plans on
// what an earlier one decided when that is carried out (automatic), or when
// both are only recommendations (so they read as one coherent plan); else on
// the cluster as it is.
import type { AutomationLevel, Recommendation } from '../../api/automation.js';
import { grownVm, plan, resolvePolicy, type ClusterSnapshot, type ExplainedAction, type Plan, type PlanAction } from '../../core/planner/index.js';

export interface Levels {
  balance: AutomationLevel;
  power: AutomationLevel;
  /** Reallocation by need (default off here: callers that know nothing of it plan without it). */
  grow?: AutomationLevel;
}

export interface PassPlan {
  recommendations: Recommendation[];
  metrics: { balance?: Record<string, number>; power?: Record<string, number>; grow?: Record<string, number> };
}

/** "migrate web-1 from h1 to h2", with the names the snapshot gives. */
export function summarize(a: PlanAction, s: ClusterSnapshot): string {
  const host = (id: string) => s.hosts.find((h) => h.id === id)?.name ?? id;
  const vm = (id: string) => s.vms.find((v) => v.id === id)?.name ?? id;
  switch (a.kind) {
    case 'migrate':
      return `migrate ${vm(a.vm)} from ${host(a.from)} to ${host(a.to)}`;
    case 'restart':
      return `restart ${vm(a.vm)} from ${host(a.from)} on ${host(a.to)}`;
    case 'place':
      return `place ${vm(a.vm)} on ${host(a.host)}`;
    case 'standby':
      return `standby ${host(a.host)}`;
    case 'resize':
      return `grow ${vm(a.vm)} to ${a.cpus} vCPUs on ${host(a.host)}`;
    case 'power-on':
      return `power on ${host(a.host)}${a.atMs !== undefined && a.atMs > (s.nowMs ?? 0) ? ` at ${new Date(a.atMs).toISOString()}` : ''}`;
  }
}

function recommendation(goal: Recommendation['goal'], level: AutomationLevel, a: ExplainedAction, s: ClusterSnapshot): Recommendation {
  return { goal, level: level === 'automatic' ? 'automatic' : 'recommend', summary: summarize(a.action, s), ...a, state: 'recommended' };
}

/** The cluster once a plan is carried out: its migrations in flight (on both hosts), its standby hosts asleep, its VMs resized. */
export function afterPlan(s: ClusterSnapshot, p: Plan): ClusterSnapshot {
  const moving = new Map<string, string>();
  const sleeping = new Set<string>();
  const resized = new Map<string, number>();
  for (const { action: a } of p.actions) {
    if (a.kind === 'migrate') moving.set(a.vm, a.to);
    if (a.kind === 'standby') sleeping.add(a.host);
    if (a.kind === 'resize') resized.set(a.vm, a.cpus);
  }
  const target = resolvePolicy(s).growTargetUtil;
  const vm = (v: ClusterSnapshot['vms'][number]) => {
    const cpus = resized.get(v.id);
    const grown = cpus === undefined ? v : grownVm(v, cpus, target, s.nowMs ?? 0);
    return moving.has(v.id) ? { ...grown, migratingTo: moving.get(v.id)! } : grown;
  };
  return {
    ...s,
    hosts: s.hosts.map((h) => (sleeping.has(h.id) ? { ...h, state: 'standby' as const } : h)),
    vms: s.vms.map(vm),
  };
}

/**
 * The clusters the goals plan on, in order: `real` holds what automatic goals
 * decided (it will be carried out), `planned` also what recommending goals
 * decided. An automatic goal plans on `real`, a recommending one on `planned`.
 */
class Chain {
  private real: ClusterSnapshot;
  private planned: ClusterSnapshot;
  constructor(s: ClusterSnapshot) {
    this.real = this.planned = s;
  }
  base(level: AutomationLevel): ClusterSnapshot {
    return level === 'automatic' ? this.real : this.planned;
  }
  add(level: AutomationLevel, p: Plan): void {
    this.planned = afterPlan(this.planned, p);
    if (level === 'automatic') this.real = afterPlan(this.real, p);
  }
}

export function planPass(snapshot: ClusterSnapshot, levels: Levels): PassPlan {
  const out: PassPlan = { recommendations: [], metrics: {} };
  const chain = new Chain(snapshot);
  const goals: Array<{ goal: Recommendation['goal']; level: AutomationLevel }> = [
    { goal: 'power', level: levels.power }, { goal: 'grow', level: levels.grow ?? 'off' }, { goal: 'balance', level: levels.balance },
  ];
  for (const { goal, level } of goals) {
    if (level === 'off') continue;
    const base = chain.base(level);
    const p = goal === 'power' ? plan(base, 'consolidate') : goal === 'grow' ? plan(base, 'grow') : plan({ ...base, policy: { ...base.policy, balance: { ...base.policy?.balance, automation: level } } }, 'balance');
    out.metrics[goal] = p.metrics;
    out.recommendations.push(...p.actions.map((a) => recommendation(goal, level, a, snapshot)));
    chain.add(level, p);
  }
  return out;
}
