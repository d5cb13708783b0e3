// A VM's demand over time, as fractions of its allocation: `cpu` 0.5 on a
// 4-vCPU VM is 2 cores busy; `memory` 0.25 of 8 GiB is 2 GiB in use.

export interface Demand {
  cpu: number;
  memory: number;
}

/**
 * One VM's demand. The engine calls `at` with non-decreasing times (ms since
 * the scenario's start), once per step; generators with state (bursts) rely
 * on that order, which makes them deterministic.
 */
export interface DemandTrace {
  at(tMs: number): Demand;
}

export function clamp01(x: number): number {
  return x < 0 ? 0 : x > 1 ? 1 : x;
}
