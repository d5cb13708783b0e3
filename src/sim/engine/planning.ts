// A planning round: which goals the controller asks the planner for now, in
// this order, each on a fresh snapshot that includes what the previous goal
// changed: ha-restart (HA VMs lost with a failed host), evacuate (each host
// in maintenance that still holds VMs), place (VMs not placed), then one
// automation pass as the controller makes it (docs/automation.md): power
// first, consolidate (when power management is on and its interval is due),
// then balance (when its automation is not off and its interval is due) on
// the cluster as the power plan leaves it (its hosts woken). A goal whose
// last plan is still being carried out (executions.ts) is not asked again;
// balance and consolidate wait for each other's migrations, so balance waits
// for a power plan that moves VMs, but not for one that only wakes hosts
// (the balancer can fill them at once).
import type { PlanGoal } from '../../core/planner/plan.js';
import { HOUR } from '../clock.js';
import type { Planner } from '../planner-port.js';
import type { Controller } from './controller.js';
import { buildSnapshot } from './snapshot.js';

export interface Due {
  balance: boolean;
  power: boolean;
}

export function planRound(c: Controller, planner: Planner, due: Due): void {
  const w = c.world;
  const pol = w.scenario.policies;
  let lostHa = false;
  let unplaced = false;
  for (const v of w.vms) {
    if (!v.wanted) continue;
    if (v.lost && v.spec.ha) lostHa = true;
    else if (v.host === null && !v.lost) unplaced = true;
  }
  if (lostHa) runGoal(c, planner, 'ha-restart');
  for (const h of w.hosts) if (!h.failed && h.plan === 'maintenance' && h.vms.size > 0) runGoal(c, planner, { evacuate: h.id });
  if (unplaced) runGoal(c, planner, 'place');
  if (due.power && pol.power.enabled) runGoal(c, planner, 'consolidate');
  if (due.balance && pol.balance.automation !== 'off') runGoal(c, planner, 'balance');
}

export function runGoal(c: Controller, planner: Planner, goal: PlanGoal): void {
  const w = c.world;
  if (c.executions.busy(goal)) return;
  c.rec.planCall(goal);
  const snapshot = buildSnapshot(w, goal);
  let plan;
  try {
    plan = planner(snapshot, goal);
  } catch (err) {
    const name = typeof goal === 'string' ? goal : `evacuate:${goal.evacuate}`;
    throw new Error(`planner, goal ${name} at ${(w.clock.nowMs() / HOUR).toFixed(2)} h: ${(err as Error).message}`, { cause: err });
  }
  for (const u of plan.unplaced) {
    for (const constraint of new Set(u.reasons.map((r) => r.constraint))) c.rec.unplaced(constraint);
  }
  if (goal === 'balance' && w.scenario.policies.balance.automation === 'recommend') c.rec.planner.recommendations += plan.actions.length;
  else if (plan.actions.length > 0) {
    w.version++;
    c.executions.start(goal, plan);
  }
  c.flush();
}
