// Goal { evacuate: host }: move every VM off a host (before maintenance),
// honouring every must-constraint and HA admission with the host already out
// of the pool (no move may create or worsen an HA deficit); what cannot move
// is reported with the reason per host class. Goal 'ha-restart': restart the HA VMs of failed hosts (hosts
// the snapshot does not list) by priority, without HA admission.
import { attempt, restore, round, settle, unitsWhere, unplacedOf, type Ctx } from './context.js';
import { FAILED } from './model.js';
import type { ExplainedAction, Unplaced } from './plan.js';

export interface GoalResult {
  actions: ExplainedAction[];
  unplaced: Unplaced[];
  metrics: Record<string, number>;
}

/** The host index for an id or a name, or undefined. */
export function findHost(ctx: Ctx, key: string): number | undefined {
  const byId = ctx.m.hostIndex.get(key);
  if (byId !== undefined) return byId;
  const i = ctx.m.snapshot.hosts.findIndex((h) => h.name === key);
  return i >= 0 ? i : undefined;
}

export function evacuate(ctx: Ctx, h: number): GoalResult {
  const { m } = ctx;
  m.setReady(h, false);
  const actions: ExplainedAction[] = [];
  const unplaced: Unplaced[] = [];
  const onHost = m.hostVms[h]!.size;
  for (const v of m.hostVms[h]!) if (m.inFlight(v)) unplaced.push(inFlightEntry(ctx, v));
  for (const members of unitsWhere(ctx, (v) => m.vmHost[v] === h && !m.inFlight(v), [...m.hostVms[h]!])) {
    const a = attempt(ctx, members, m.policy.placement);
    if (!a.choice) {
      unplaced.push(...unplacedOf(ctx, a));
      restore(ctx, a);
      continue;
    }
    settle(ctx, a);
    const to = a.choice.host;
    for (const v of members) {
      actions.push({
        action: { kind: 'migrate', vm: m.vmIds[v]!, from: m.hostIds[h]!, to: m.hostIds[to]! },
        reason: `evacuate ${m.hostName(h)}: ${m.hostName(to)} ${m.policy.placement === 'pack' ? 'is the first host in pack order with room' : 'has the most room'}${a.choice.penalty > 0 ? `; breaks ${a.choice.penalty} should-rule(s), no host with room breaks fewer` : ''}`,
        numbers: { memoryMiB: m.mem[v]!, cpus: m.cpu[v]!, targetUtilAfter: round(m.util(to)), shouldViolations: a.choice.penalty },
      });
    }
  }
  return { actions, unplaced, metrics: { vmsOnHost: onHost, moved: actions.length, cannotMove: unplaced.length } };
}

/** A VM whose live migration is under way is not moved again: it is leaving already (or, if that fails, stays). */
function inFlightEntry(ctx: Ctx, v: number): Unplaced {
  const to = ctx.m.snapshot.vms[v]!.migratingTo!;
  return { vm: ctx.m.vmIds[v]!, reasons: [{ hosts: [], constraint: 'in-flight', detail: `a live migration of it to ${to} is under way; it is not moved again`, hostCount: 0 }] };
}

export function haRestart(ctx: Ctx): GoalResult {
  const { m } = ctx;
  const actions: ExplainedAction[] = [];
  const unplaced: Unplaced[] = [];
  const failed: number[] = [];
  for (let v = 0; v < m.V; v++) if (m.vmHost[v] === FAILED) failed.push(v);
  const prio = (l: number[]) => Math.max(...l.map((v) => m.snapshot.vms[v]!.priority ?? 0));
  const groups = unitsWhere(ctx, (v) => m.ha[v] === 1, failed);
  groups.sort((a, b) => prio(b) - prio(a));
  for (const members of groups) {
    const a = attempt(ctx, members, 'spread', { noHa: true });
    if (!a.choice) {
      unplaced.push(...unplacedOf(ctx, a));
      restore(ctx, a);
      continue;
    }
    settle(ctx, a);
    for (const v of members) {
      const from = m.snapshot.vms[v]!.host!;
      actions.push({
        action: { kind: 'restart', vm: m.vmIds[v]!, from, to: m.hostIds[a.choice.host]! },
        reason: `ha-restart: ${from} is gone; priority ${m.snapshot.vms[v]!.priority ?? 0}; ${m.hostName(a.choice.host)} has the most room`,
        numbers: { priority: m.snapshot.vms[v]!.priority ?? 0, memoryMiB: m.mem[v]!, cpus: m.cpu[v]!, targetUtilAfter: round(m.util(a.choice.host)) },
      });
    }
  }
  for (const v of failed) {
    if (m.ha[v]) continue;
    unplaced.push({ vm: m.vmIds[v]!, reasons: [{ hosts: [], constraint: 'not-ha', detail: `its host ${m.snapshot.vms[v]!.host} is gone and it is not marked ha: it stays down until started by hand`, hostCount: 0 }] });
  }
  return { actions, unplaced, metrics: { failedVms: failed.length, restarted: actions.length, notRestarted: unplaced.length } };
}
