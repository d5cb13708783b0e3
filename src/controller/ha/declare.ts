// Declaring hosts dead: the hosts the monitor judged dead in one poll are
// declared together, in ONE commit that makes them all Fenced, marks the VMs
// that stay on them host-down, and creates ONE ha.failover job whose restart
// order covers all their HA VMs by priority. Two hosts failing together so
// compete for the room left by priority, not by which job ran first.
import type { HostStateName } from '../../api/resources.js';
import { selectFailover, WATCHED_HOST_STATES } from '../../core/ha-failover.js';
import type { CommitOp } from '../../store/store.js';
import type { ControllerContext } from '../context.js';
import { hostStateEvent, type EventDraft } from '../events.js';
import { KIND, nowIso, type HaVmOutcome, type HostRecord, type JobRecord, type VmRecord } from '../records.js';
import { createOp, putOp, retryOnConflict, type Versioned } from '../state.js';
import { failoverStartedEvent, vmFailoverEvent } from './events.js';
import { failoverParams, jobTargetOf } from './failover-params.js';
import { hostDownReason } from './vm-marks.js';

export interface DeadHost {
  hostId: string;
  /** The verdict's reason. */
  why: string;
}

/** Fenced, host-down marks and one failover job for all of `dead`, in one commit. Undefined: none of them is still watched (they changed meanwhile). */
export async function declareDead(ctx: ControllerContext, dead: readonly DeadHost[]): Promise<{ job: JobRecord; hostIds: string[] } | undefined> {
  return retryOnConflict(async () => {
    const hosts = (await Promise.all(dead.map(async (d) => ({ found: await ctx.state.getHost(d.hostId), why: d.why }))))
      .flatMap(({ found, why }) => (found && WATCHED_HOST_STATES.includes(found.data.state) ? [{ host: found, why }] : []))
      .sort((a, b) => a.host.data.name.localeCompare(b.host.data.name));
    if (hosts.length === 0) return undefined;
    const vms = (await Promise.all(hosts.map((h) => ctx.state.vmsOnHost(h.host.id)))).flat();
    const sel = selectFailover(vms.map((v) => ({ ...v.data, ha: v.data.spec.ha, haPriority: v.data.spec.haPriority, storage: v.data.spec.storage })));
    const outcomes: Record<string, HaVmOutcome> = Object.fromEntries(sel.notRestartable.map((n) => [n.id, { restarted: false, reason: n.reason }]));
    const refs = hosts.map((h) => ({ id: h.host.id, name: h.host.data.name }));
    const nameOf = new Map(refs.map((h) => [h.id, h.name]));
    // Every VM with the dead host it is on (its name, for events and reasons).
    const info = new Map(vms.map((v) => [v.id, { id: v.id, name: v.data.name, hostId: v.data.hostId!, from: nameOf.get(v.data.hostId!)! }]));
    const vm = (id: string) => info.get(id)!;
    const order = [...sel.restart, ...sel.notRestartable.map((n) => n.id)].map(vm);
    const job = ctx.runner.newJob('ha.failover', jobTargetOf(refs), failoverParams(refs, order, outcomes));
    const ops: CommitOp[] = [createOp(KIND.job, job.id, job)];
    const events: EventDraft[] = [];
    const at = nowIso();
    for (const { host } of hosts) {
      const next: HostRecord = { ...host.data, state: 'Fenced' satisfies HostStateName, failedAt: at, failoverJobId: job.id };
      ops.push(putOp(KIND.host, host.id, next, host.rev));
      events.push(...hostStateEvent(host.data, next));
    }
    ops.push(...hostDownOps(vms, nameOf, outcomes));
    // With several hosts every VM names the host it restarts from.
    const label = (id: string) => (hosts.length > 1 ? `${vm(id).name} (${vm(id).from})` : vm(id).name);
    events.push(
      failoverStartedEvent(hosts.map((h) => ({ id: h.host.id, name: h.host.data.name, why: h.why })), job.id, sel.restart.map(label), sel.notRestartable.map((n) => `${label(n.id)} (${n.reason})`)),
      ...sel.notRestartable.map((n) => vmFailoverEvent(vm(n.id), vm(n.id).from, { restarted: false, reason: n.reason })),
    );
    await ctx.state.commit(ops, events);
    return { job, hostIds: refs.map((h) => h.id) };
  });
}

/** The VMs that stay on a dead host say so: non-HA ones, and HA ones that cannot run elsewhere. */
function hostDownOps(vms: Versioned<VmRecord>[], hostNames: ReadonlyMap<string, string>, outcomes: Record<string, HaVmOutcome>): CommitOp[] {
  const ops: CommitOp[] = [];
  for (const v of vms) {
    const o = outcomes[v.id];
    const hostName = hostNames.get(v.data.hostId ?? '') ?? v.data.hostId;
    let reason: string | undefined;
    if (v.data.spec.ha !== true) reason = `host ${hostName} failed; not HA: it stays assigned there and continues when the host is back`;
    else if (o && !o.restarted) reason = `host ${hostName} failed; not restarted elsewhere: ${o.reason}`;
    if (reason) ops.push(putOp(KIND.vm, v.id, { ...v.data, reason: hostDownReason(reason), updatedAt: nowIso() }, v.rev));
  }
  return ops;
}
