// The moves that empty a host for maintenance: the planner's evacuate plan
// (src/core/planner/evacuate.ts) on the live snapshot with the automation
// policy, so it honours every constraint the planner knows (host rules,
// groups, capacity, HA admission) and says which VMs cannot move and why.
// What only the controller knows (image, storage pool, network, port
// clashes on each target) comes in as exclusions per VM (plan-placement.ts).
// Only the running VMs of the host take part: the others stay out of the
// plan (they are not live-migrated).
import { plan, type ClusterSnapshot } from '../core/planner/index.js';
import type { ControllerContext } from './context.js';
import { clusterView, runProblem, type ClusterView } from './migration-start.js';
import { describeUnplaced, withExclusions, type Exclusions } from './plan-placement.js';
import type { VmRecord } from './records.js';

export type EvacuationMove = { vm: VmRecord; to: string } | { vm: VmRecord; why: string };

/** Pure: the moves (in plan order) and refusals for the running VMs of `hostId`. */
export function evacuationMoves(live: ClusterSnapshot, c: ClusterView, hostId: string, running: readonly VmRecord[]): EvacuationMove[] {
  const ids = new Map(running.map((v) => [v.id, v]));
  if (!live.hosts.some((h) => h.id === hostId)) return running.map((vm) => ({ vm, why: 'its host is not in the planner\'s view (it has not reported its inventory)' }));
  const vms = live.vms.filter((v) => v.host !== hostId || ids.has(v.id) || v.migratingTo !== undefined);
  const excluded = new Map<string, Exclusions>();
  for (const vm of running) {
    const ex = new Map<string, string>();
    for (const h of c.hosts) {
      const problem = h.id === hostId ? undefined : runProblem(vm, h, c);
      if (problem) ex.set(h.id, problem);
    }
    excluded.set(vm.id, ex);
  }
  // Planned as an evacuation is planned offline: from the host as it was before it left the pool (evacuate takes it out).
  const hosts = live.hosts.map((h) => (h.id === hostId ? { ...h, state: 'ready' as const } : h));
  const s = withExclusions({ ...live, hosts, vms }, excluded);
  const p = plan(s, { evacuate: hostId });
  const out: EvacuationMove[] = [];
  for (const { action: a } of p.actions) {
    const vm = a.kind === 'migrate' ? ids.get(a.vm) : undefined;
    if (vm && a.kind === 'migrate') out.push({ vm, to: a.to });
  }
  for (const u of p.unplaced) {
    const vm = ids.get(u.vm);
    if (!vm || u.reasons.some((r) => r.constraint === 'in-flight')) continue;
    const subject = s.vms.find((v) => v.id === u.vm)!;
    out.push({ vm, why: `no host can take it: ${describeUnplaced(u, s, excluded.get(u.vm) ?? new Map(), subject, ' | ').text}` });
  }
  for (const vm of running) if (!out.some((m) => m.vm.id === vm.id)) out.push({ vm, why: 'the evacuation plan left it where it is' });
  return out;
}

/** The evacuation of `hostId` on the cluster as it is now. */
export async function planEvacuation(ctx: ControllerContext, hostId: string, running: readonly VmRecord[]): Promise<EvacuationMove[]> {
  const [live, c] = await Promise.all([ctx.automation.snapshot(), clusterView(ctx)]);
  return evacuationMoves(live, c, hostId, running);
}
