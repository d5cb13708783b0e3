// The planner's output: an ordered list of actions, each with its reason and
// the numbers behind it, so `drover plan --explain` can show why.

export type PlanGoal = 'place' | 'balance' | 'consolidate' | { evacuate: string } | 'ha-restart';

export type PlanAction =
  | { kind: 'place'; vm: string; host: string }
  | { kind: 'migrate'; vm: string; from: string; to: string }
  | { kind: 'power-on'; host: string; atMs?: number }
  | { kind: 'standby'; host: string }
  | { kind: 'restart'; vm: string; from: string; to: string };

export interface ExplainedAction {
  action: PlanAction;
  /** One sentence a person can read. */
  reason: string;
  /** Score before and after (lower is better for imbalance), when the action changes one. */
  scoreBefore?: number;
  scoreAfter?: number;
  /** The numbers the decision used (name -> value), for --explain. */
  numbers?: Record<string, number | string>;
}

/** A VM the planner could not place or move, with the constraint that stopped it on each host (or host class). */
export interface Unplaced {
  vm: string;
  reasons: Array<{ hosts: string[]; constraint: string; detail: string }>;
}

export interface Plan {
  goal: PlanGoal;
  actions: ExplainedAction[];
  unplaced: Unplaced[];
  /** Summary figures (e.g. imbalance before/after, hosts on). */
  metrics: Record<string, number>;
}
