// What one automation pass decides, given the live snapshot and the levels:
// pure (the planner of src/core does the work). Power goes first (goal
// consolidate: migrations that empty hosts, their standby, power-ons); the
// balancer then plans on the cluster as the power plan leaves it (its moves
// in flight, its hosts asleep) when that plan is carried out, or when both
// are only recommendations (so the two read as one coherent plan); else on
// the cluster as it is.
import type { AutomationLevel, Recommendation } from '../../api/automation.js';
import { plan, type ClusterSnapshot, type ExplainedAction, type Plan, type PlanAction } from '../../core/planner/index.js';

export interface Levels {
  balance: AutomationLevel;
  power: AutomationLevel;
}

export interface PassPlan {
  recommendations: Recommendation[];
  metrics: { balance?: Record<string, number>; power?: Record<string, number> };
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
    case 'power-on':
      return `power on ${host(a.host)}${a.atMs !== undefined && a.atMs > (s.nowMs ?? 0) ? ` at ${new Date(a.atMs).toISOString()}` : ''}`;
  }
}

function recommendation(goal: Recommendation['goal'], level: AutomationLevel, a: ExplainedAction, s: ClusterSnapshot): Recommendation {
  return { goal, level: level === 'automatic' ? 'automatic' : 'recommend', summary: summarize(a.action, s), ...a, state: 'recommended' };
}

/** The cluster once the power plan is carried out: its migrations in flight (on both hosts), its standby hosts asleep. */
export function afterPowerPlan(s: ClusterSnapshot, p: Plan): ClusterSnapshot {
  const moving = new Map<string, string>();
  const sleeping = new Set<string>();
  for (const { action: a } of p.actions) {
    if (a.kind === 'migrate') moving.set(a.vm, a.to);
    if (a.kind === 'standby') sleeping.add(a.host);
  }
  return {
    ...s,
    hosts: s.hosts.map((h) => (sleeping.has(h.id) ? { ...h, state: 'standby' as const } : h)),
    vms: s.vms.map((v) => (moving.has(v.id) ? { ...v, migratingTo: moving.get(v.id)! } : v)),
  };
}

export function planPass(snapshot: ClusterSnapshot, levels: Levels): PassPlan {
  const out: PassPlan = { recommendations: [], metrics: {} };
  let forBalance = snapshot;
  if (levels.power !== 'off') {
    const p = plan(snapshot, 'consolidate');
    out.metrics.power = p.metrics;
    out.recommendations.push(...p.actions.map((a) => recommendation('power', levels.power, a, snapshot)));
    if (levels.power === 'automatic' || levels.balance === 'recommend') forBalance = afterPowerPlan(snapshot, p);
  }
  if (levels.balance !== 'off') {
    const policy = { ...forBalance.policy, balance: { ...forBalance.policy?.balance, automation: levels.balance } };
    const b = plan({ ...forBalance, policy }, 'balance');
    out.metrics.balance = b.metrics;
    out.recommendations.push(...b.actions.map((a) => recommendation('balance', levels.balance, a, snapshot)));
  }
  return out;
}
