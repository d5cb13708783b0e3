// Where an HA VM of a dead host runs again, and the VM record that says so.
// The planner places it (goal `place`, plan-placement.ts) on the Ready hosts
// under every must-constraint it knows (host rules, groups, memory, vCPUs),
// without HA admission (as its `ha-restart` goal: a failover uses the room
// admission kept). What only the controller knows comes in as exclusions:
// image, shared pool (the same storage as the dead host's), network, port
// clashes, hosts whose agent cannot fence itself (HA off there), and hosts
// that do not report either.
import type { HostHaReport } from '../../api/agent-protocol.js';
import { withConstraints } from '../cluster-snapshot.js';
import type { ControllerContext } from '../context.js';
import { clusterView, runProblem } from '../migration-start.js';
import { placeOne } from '../plan-placement.js';
import { nowIso, type HostRecord, type VmRecord } from '../records.js';

/** Why an HA VM must not go to a host whose agent reported this of its fencer, or undefined. */
export function haProblem(report: HostHaReport | undefined): string | undefined {
  if (report && !report.enabled) return `it cannot fence itself (${report.reason ?? 'HA is off on its agent'}): HA VMs are not started there`;
  return undefined;
}

/** A Ready host that does not report now (isolated, suspected, ...) is no place to restart a VM. */
function silentProblem(ctx: ControllerContext, h: HostRecord): string | undefined {
  const j = ctx.ha.status(h);
  return j.verdict === 'alive' || j.verdict === 'off' || j.verdict === 'not-watched' ? undefined : `it does not report either (${j.verdict})`;
}

/** Why no HA VM may be restarted on `h` now (its agent cannot fence, or it does not report), or undefined. */
export function hostUnfitForHa(ctx: ControllerContext, h: HostRecord): string | undefined {
  return haProblem(ctx.live.haReports.get(h.id)) ?? silentProblem(ctx, h);
}

/** The host the planner restarts `vm` on, or why none will do; none of the failed hosts of the job is one. */
export async function failoverTarget(ctx: ControllerContext, vm: VmRecord, deadHostIds: ReadonlySet<string>): Promise<{ host: HostRecord } | { why: string }> {
  const c = await clusterView(ctx);
  const excluded = new Map<string, string>();
  for (const h of c.hosts) {
    const problem = deadHostIds.has(h.id) ? 'a failed host' : (runProblem(vm, h, c) ?? hostUnfitForHa(ctx, h));
    if (problem) excluded.set(h.id, problem);
  }
  const subject = c.snapshot.vms.find((v) => v.id === vm.id) ?? withConstraints({ id: vm.id, name: vm.name, cpus: vm.spec.cpus, memoryMiB: vm.spec.memoryMiB, host: vm.hostId }, vm.spec);
  const placed = placeOne(c.snapshot, subject, excluded);
  if ('why' in placed) return { why: `no host can take it: ${placed.why.text}` };
  const host = c.hosts.find((h) => h.id === placed.hostId);
  return host ? { host } : { why: `the planner chose host ${placed.hostId}, which is gone` };
}

/**
 * The VM restarted on `target`: a new epoch (a fencing token the old host
 * never saw), running (a stopped VM moves without starting), and the old
 * host listed in `staleOn` until it confirms the VM gone.
 */
export function restartedVm(vm: VmRecord, target: HostRecord, deadHostId: string): VmRecord {
  const { pid: _p, observed: _o, guestReadyAt: _g, qmpReadyAt: _q, qemuStartMs: _s, agentError: _e, reason: _r, ...rest } = vm;
  const start = vm.intent !== 'stopped';
  return {
    ...rest,
    hostId: target.id,
    epoch: vm.epoch + 1,
    intent: start ? 'running' : 'stopped',
    phase: start ? 'Starting' : 'Stopped',
    forceStop: false,
    staleOn: [...new Set([...(vm.staleOn ?? []), deadHostId])],
    updatedAt: nowIso(),
  };
}
