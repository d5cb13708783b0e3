// The simulator calls the planner through this type, so tests can inject a
// small planner of their own (test-support/simple-planner.ts) while
// `drover sim run` uses the real one (src/core/planner).
import type { Plan, PlanGoal } from '../core/planner/plan.js';
import type { ClusterSnapshot } from '../core/planner/snapshot.js';

export type Planner = (snapshot: ClusterSnapshot, goal: PlanGoal) => Plan;
