// The planner's entry point: one pure function from a cluster snapshot and a
// goal to an explained plan. The controller, `drover plan` and the simulator
// all call this.
import type { Plan, PlanGoal } from './plan.js';
import type { ClusterSnapshot } from './snapshot.js';

export type { ClusterSnapshot, PlannerPolicy, SnapshotGroup, SnapshotHost, SnapshotVm } from './snapshot.js';
export type { ExplainedAction, Plan, PlanAction, PlanGoal, Unplaced } from './plan.js';

export function plan(snapshot: ClusterSnapshot, goal: PlanGoal): Plan {
  void snapshot;
  throw new Error(`planner goal ${JSON.stringify(goal)}: not built yet`);
}
