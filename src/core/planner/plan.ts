// The planner's output: an ordered list of actions, each with its reason and
// the numbers behind it, so `drover plan --explain` can show why.

export type PlanGoal = 'place' | 'balance' | 'consolidate' | { evacuate: string } | 'ha-restart' | 'grow';

export type PlanAction =
  | { kind: 'place'; vm: string; host: string }
  | { kind: 'migrate'; vm: string; from: string; to: string }
  | { kind: 'power-on'; host: string; atMs?: number }
  | { kind: 'standby'; host: string }
  | { kind: 'restart'; vm: string; from: string; to: string }
  /** Live vCPU hot-add where the VM runs (goal grow): `cpus` is its new vCPU count. */
  | { kind: 'resize'; vm: string; host: string; cpus: number };

export interface ExplainedAction {
  action: PlanAction;
  /** One sentence a person can read. */
  reason: string;
  /** Score before and after (lower is better for imbalance), when the action changes one. */
  scoreBefore?: number;
  scoreAfter?: number;
  /** The numbers the decision used (name -> value), for --explain. */
  numbers?: Record<string, number | string>;
  /**
   * Execution wave (0 first). Waves run in order; the actions of one wave may run at
   * once. A wave holds at most maxMigrations migrations per host, and an action comes
   * in a later wave than any earlier action that moved a VM off its target host.
   */
  wave?: number;
}

/** A VM the planner could not place or move, with the constraint that stopped it on each host (or host class). */
export interface Unplaced {
  vm: string;
  /** One entry per host class (hosts stopped by the same constraint); `hosts` lists a few, `hostCount` counts them all. */
  reasons: Array<{ hosts: string[]; constraint: string; detail: string; hostCount?: number }>;
}

export interface Plan {
  goal: PlanGoal;
  actions: ExplainedAction[];
  unplaced: Unplaced[];
  /** Summary figures (e.g. imbalance before/after, hosts on). */
  metrics: Record<string, number>;
  /** Balancer automation level the plan was made under (also metrics.automation: 0 off, 1 recommend, 2 automatic). */
  automation?: 'off' | 'recommend' | 'automatic';
}
