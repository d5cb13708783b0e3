// Carrying out a plan in its execution waves (ExplainedAction.wave): the
// actions of a wave start together; the next wave starts when every
// migration of this one has ended (completed, cancelled or lost with a host).
// Actions without a wave are wave 0. While a goal's plan is still being
// carried out, the controller does not ask for that goal again (a balancer
// pass does not start on top of the last one), nor, for balance and
// consolidate, for the other (both move VMs across the whole cluster: a
// balance move onto a host being emptied would keep it from sleeping).
import type { ExplainedAction, Plan, PlanGoal } from '../../core/planner/plan.js';
import { applyAction } from './apply.js';
import type { Controller } from './controller.js';

interface Execution {
  key: string;
  goal: PlanGoal;
  waves: ExplainedAction[][];
  next: number;
  /** Migrations of the wave under way. */
  pending: Set<string>;
}

/** Balance and consolidate share one key: both move VMs for the whole cluster, so one waits for the other. */
export function goalKey(goal: PlanGoal): string {
  if (goal === 'balance' || goal === 'consolidate') return 'balance+consolidate';
  return typeof goal === 'string' ? goal : `evacuate:${goal.evacuate}`;
}

export class Executions {
  private readonly running: Execution[] = [];

  constructor(private readonly c: Controller) {}

  busy(goal: PlanGoal): boolean {
    const key = goalKey(goal);
    return this.running.some((e) => e.key === key);
  }

  start(goal: PlanGoal, plan: Plan): void {
    const byWave = new Map<number, ExplainedAction[]>();
    for (const a of plan.actions) {
      const w = a.wave ?? 0;
      const list = byWave.get(w);
      if (list) list.push(a);
      else byWave.set(w, [a]);
    }
    const waves = [...byWave.keys()].sort((a, b) => a - b).map((w) => byWave.get(w)!);
    const e: Execution = { key: goalKey(goal), goal, waves, next: 0, pending: new Set() };
    this.running.push(e);
    this.advance(e);
  }

  migrationEnded(id: string): void {
    for (const e of [...this.running]) {
      if (e.pending.delete(id) && e.pending.size === 0) this.advance(e);
    }
  }

  /** Starts waves until one has migrations to wait for, or none is left. */
  private advance(e: Execution): void {
    while (e.pending.size === 0 && e.next < e.waves.length) {
      for (const { action } of e.waves[e.next++]!) {
        const verdict = applyAction(this.c, action, e.goal);
        if (!verdict.ok) {
          this.c.rec.rejected(e.goal, action, verdict.reason);
          continue;
        }
        this.c.rec.action(action.kind);
        if (verdict.migration) e.pending.add(verdict.migration);
      }
    }
    if (e.pending.size === 0) this.running.splice(this.running.indexOf(e), 1);
  }
}
