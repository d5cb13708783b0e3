// The planner's entry point: one pure function from a cluster snapshot and a
// goal to an explained plan. The controller, `drover plan` and the simulator
// all call this. The snapshot is trusted to be well-formed: check files and
// other outside input with validateSnapshot first.
import { balance } from './balance.js';
import { consolidate } from './consolidate.js';
import { newCtx, round, type Ctx } from './context.js';
import { evacuate, findHost, haRestart } from './evacuate.js';
import { grow } from './grow.js';
import { haDeficit } from './ha.js';
import { imbalance } from './imbalance.js';
import { placeAll } from './place.js';
import type { ExplainedAction, Plan, PlanGoal, Unplaced } from './plan.js';
import { AUTOMATION_LEVEL, resolvePolicy, type ResolvedPolicy } from './policy.js';
import { powerOns } from './power.js';
import type { ClusterSnapshot } from './snapshot.js';
import { assignWaves } from './waves.js';

export type { ClusterSnapshot, ForecastPoint, PlannerPolicy, SnapshotGroup, SnapshotHost, SnapshotPool, SnapshotVm } from './snapshot.js';
export type { ExplainedAction, Plan, PlanAction, PlanGoal, Unplaced } from './plan.js';
export { applyPlan, checkState, haDeficits, type ApplyResult } from './check.js';
export { validateSnapshot, SnapshotError } from './validate.js';
export { resolvePolicy, DEFAULTS as POLICY_DEFAULTS } from './policy.js';
export { grownVm } from './grow.js';

interface Outcome {
  actions: ExplainedAction[];
  unplaced: Unplaced[];
  metrics: Record<string, number>;
}

/**
 * Hosts in pack order for consolidation: ready hosts most loaded first, then the rest.
 * The load is the model's (usage, else allocation; a VM in flight counts on its target too), summed here without building one.
 */
function fullestFirst(snapshot: ClusterSnapshot): number[] {
  const H = snapshot.hosts.length;
  const index = new Map<string, number>();
  snapshot.hosts.forEach((h, i) => index.set(h.id, i));
  const cpu = new Float64Array(H);
  const mem = new Float64Array(H);
  const add = (h: number | undefined, v: ClusterSnapshot['vms'][number]) => {
    if (h === undefined) return;
    cpu[h]! += v.cpuUsage ?? v.cpus;
    mem[h]! += v.memoryUsageMiB ?? v.memoryMiB;
  };
  for (const v of snapshot.vms) {
    const h = v.host === null ? undefined : index.get(v.host);
    if (h === undefined) continue;
    add(h, v);
    const t = v.migratingTo === undefined ? undefined : index.get(v.migratingTo);
    if (t !== h) add(t, v);
  }
  const key = new Float64Array(H);
  snapshot.hosts.forEach((h, i) => {
    const phys = (amount: number, reserved: number | undefined) => Math.max(1e-9, amount - (reserved ?? 0));
    key[i] = h.state === 'ready' ? Math.max(cpu[i]! / phys(h.cpus, h.reservedCpus), mem[i]! / phys(h.memoryMiB, h.reservedMemoryMiB)) : -1;
  });
  const hosts = Array.from({ length: H }, (_, h) => h);
  return hosts.sort((a, b) => key[b]! - key[a]! || a - b);
}

function runConsolidate(snapshot: ClusterSnapshot, policy: ResolvedPolicy): { ctx: Ctx; out: Outcome } {
  const ctx = newCtx(snapshot, policy, { loadLimit: 1 - policy.headroom, order: fullestFirst(snapshot) });
  const c = consolidate(ctx);
  const p = powerOns(ctx, c.standby);
  const asleep = new Set(c.standby.map((h) => ctx.m.hostIds[h]!));
  const wakesAsleep = (a: ExplainedAction) => a.action.kind === 'power-on' && asleep.has(a.action.host);
  // Hosts already in standby wake first; hosts this plan puts to sleep wake after they went to sleep.
  const actions = [...p.actions.filter((a) => !wakesAsleep(a)), ...c.actions, ...p.actions.filter(wakesAsleep)];
  return { ctx, out: { actions, unplaced: [], metrics: { ...c.metrics, ...p.metrics } } };
}

function run(snapshot: ClusterSnapshot, goal: PlanGoal, policy: ResolvedPolicy): { ctx: Ctx; out: Outcome } {
  if (goal === 'consolidate') return runConsolidate(snapshot, policy);
  const ctx = newCtx(snapshot, policy);
  if (goal === 'place') {
    const r = placeAll(ctx, policy.placement);
    return { ctx, out: { ...r, metrics: { placed: r.actions.length, unplaced: r.unplaced.length } } };
  }
  if (goal === 'balance') return { ctx, out: balance(ctx) };
  if (goal === 'ha-restart') return { ctx, out: haRestart(ctx) };
  if (goal === 'grow') return { ctx, out: grow(ctx) };
  if (typeof goal === 'object' && goal !== null && typeof goal.evacuate === 'string') {
    const h = findHost(ctx, goal.evacuate);
    if (h === undefined) throw new Error(`evacuate: no host ${JSON.stringify(goal.evacuate)} in the snapshot`);
    return { ctx, out: evacuate(ctx, h) };
  }
  throw new Error(`unknown planner goal ${JSON.stringify(goal)}; use place, balance, consolidate, grow, ha-restart or { evacuate: HOST }`);
}

export function plan(snapshot: ClusterSnapshot, goal: PlanGoal): Plan {
  const policy = resolvePolicy(snapshot);
  const { ctx, out } = run(snapshot, goal, policy);
  assignWaves(snapshot, out.actions, policy.migrationsPerHost);
  const d = haDeficit(ctx.m);
  let ready = 0;
  for (let h = 0; h < ctx.m.H; h++) ready += ctx.m.ready[h]!;
  const metrics: Record<string, number> = {
    ...out.metrics,
    actions: out.actions.length,
    hostsReady: ready,
    imbalance: round(imbalance(ctx.m), 4),
    haAdmission: d.cpu <= 1e-6 && d.mem <= 1e-6 ? 1 : 0,
  };
  if (policy.failures > 0) {
    metrics.haSpareMemoryMiB = round(-d.mem, 0);
    metrics.haSpareCpus = round(-d.cpu, 2);
  }
  const result: Plan = { goal, actions: out.actions, unplaced: out.unplaced, metrics };
  if (goal === 'balance') {
    result.automation = policy.automation;
    metrics.automation = AUTOMATION_LEVEL[policy.automation];
  }
  return result;
}
