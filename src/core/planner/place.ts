// Goal 'place': every VM without a host gets one. Largest first (memory, then
// vCPUs), VMs that must share a host together. `spread` (default) picks the
// host left least loaded; `pack` the first host in order with room, so hosts
// fill up one after another.
import { attempt, round, settle, unitsWhere, unplacedOf, type Ctx } from './context.js';
import { UNPLACED } from './model.js';
import type { ExplainedAction, Unplaced } from './plan.js';
import type { Mode } from './search.js';

export interface PlaceResult {
  actions: ExplainedAction[];
  unplaced: Unplaced[];
}

export function placeAll(ctx: Ctx, mode: Mode): PlaceResult {
  const { m } = ctx;
  const actions: ExplainedAction[] = [];
  const unplaced: Unplaced[] = [];
  for (const members of unitsWhere(ctx, (v) => m.vmHost[v] === UNPLACED)) {
    const a = attempt(ctx, members, mode);
    if (!a.choice) {
      unplaced.push(...unplacedOf(ctx, a));
      continue;
    }
    const h = a.choice.host;
    const freeBefore = m.capMem[h]! - m.allocMem[h]!;
    const utilBefore = m.util(h);
    settle(ctx, a);
    for (const v of members) actions.push(placeAction(ctx, v, h, mode, { freeBefore, utilBefore, penalty: a.choice.penalty, together: members.length }));
  }
  return { actions, unplaced };
}

function placeAction(ctx: Ctx, v: number, h: number, mode: Mode, n: { freeBefore: number; utilBefore: number; penalty: number; together: number }): ExplainedAction {
  const { m } = ctx;
  const why = mode === 'pack' ? 'the first host in pack order with room' : 'the host with the most room, left least loaded';
  const with_ = n.together > 1 ? ` with ${n.together - 1} VM(s) it must share a host with` : '';
  const soft = n.penalty > 0 ? `; breaks ${n.penalty} should-rule(s), no host with room breaks fewer` : '';
  return {
    action: { kind: 'place', vm: m.vmIds[v]!, host: m.hostIds[h]! },
    reason: `${mode}: ${m.hostName(h)} is ${why}${with_}${soft}`,
    scoreBefore: round(n.utilBefore),
    scoreAfter: round(m.util(h)),
    numbers: {
      memoryMiB: m.mem[v]!,
      cpus: m.cpu[v]!,
      hostFreeMemoryMiBBefore: round(n.freeBefore, 1),
      hostFreeMemoryMiBAfter: round(m.capMem[h]! - m.allocMem[h]!, 1),
      hostUtilAfter: round(m.util(h)),
      shouldViolations: n.penalty,
    },
  };
}
