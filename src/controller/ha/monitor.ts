// The failover loop of the controller (docs/failover.md). Every pollMs it
// reads the hosts' lease records (lease-watch.ts), judges each host from its
// heartbeat silence and its lease (src/core/ha-failover.ts), publishes a
// `host.ha` event when a verdict changes, and declares a dead host Fenced:
// one commit makes it Fenced, marks the VMs that stay on it host-down, and
// creates the ha.failover job that restarts its HA VMs elsewhere. The job
// is persisted: a controller that dies right after the commit finishes it
// when it starts again.
import type { HostHaStatus, HostStateName } from '../../api/resources.js';
import { isDead, judgeHost, selectFailover, WATCHED_HOST_STATES, type HostHaJudgement, type LeaseObservation } from '../../core/ha-failover.js';
import type { HaTiming } from '../../core/ha-timing.js';
import type { CommitOp } from '../../store/store.js';
import type { ControllerContext } from '../context.js';
import { hostStateEvent, type EventDraft } from '../events.js';
import { KIND, nowIso, type HaVmOutcome, type HostRecord, type VmRecord } from '../records.js';
import { createOp, putOp, retryOnConflict, type Versioned } from '../state.js';
import { failoverStartedEvent, vmFailoverEvent } from './events.js';
import { LeaseWatch } from './lease-watch.js';
import { hostDownReason } from './vm-marks.js';

export interface FailoverConfig {
  /** The shared pool as the controller sees it (controller flag --shared-pool). */
  sharedPoolDir: string;
  timing: HaTiming;
}

export const FAILOVER_OFF_REASON = 'HA failover is off: the controller runs without --shared-pool, so it cannot watch the hosts\' leases';

export class HaMonitor {
  readonly watch: LeaseWatch | undefined;
  private readonly judged = new Map<string, HostHaStatus>();
  private readonly startedAt: number;
  private timer: NodeJS.Timeout | undefined;
  private lastTick: number | undefined;
  private ticking = false;

  constructor(
    private readonly ctx: () => ControllerContext,
    readonly config: FailoverConfig | undefined,
    private readonly clock: () => number = () => performance.now(),
  ) {
    this.startedAt = clock();
    if (config) this.watch = new LeaseWatch(config.sharedPoolDir, clock);
  }

  get enabled(): boolean {
    return this.config !== undefined;
  }

  start(): void {
    if (!this.config) return;
    const every = this.config.timing.pollMs;
    this.timer = setInterval(() => void this.tick().catch((err: unknown) => this.ctx().log.error({ err }, 'HA failover tick failed')), every);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
  }

  /** What failover makes of the host now (for GET /v1/hosts). */
  status(host: Pick<HostRecord, 'id' | 'state'>): HostHaStatus {
    if (!this.config) return { verdict: 'off', reason: FAILOVER_OFF_REASON };
    return this.judged.get(host.id) ?? { verdict: host.state === 'Fenced' ? 'fenced' : 'alive', reason: 'not judged yet' };
  }

  /** One round: read the leases, judge every host, fail over the dead ones. */
  async tick(): Promise<void> {
    const cfg = this.config;
    const watch = this.watch;
    if (!cfg || !watch || this.ticking) return;
    this.ticking = true;
    try {
      this.noticeStall(cfg.timing);
      const hosts = await this.ctx().state.listHosts();
      void watch.poll(hosts.filter((h) => WATCHED_HOST_STATES.includes(h.data.state)).map((h) => h.id));
      for (const host of hosts) await this.judge(host, cfg.timing, watch);
    } finally {
      this.ticking = false;
    }
  }

  /** A tick far later than due: this process stalled, so elapsed time proves nothing about the hosts. */
  private noticeStall(t: HaTiming): void {
    const now = this.clock();
    const late = this.lastTick === undefined ? 0 : now - this.lastTick - t.pollMs;
    this.lastTick = now;
    if (late <= 2 * t.ioTimeoutMs) return;
    this.watch?.restartBaselines();
    this.ctx().log.warn(`the controller itself stalled for ${Math.round(late)} ms: lease ages count again from now`);
  }

  private async judge(host: Versioned<HostRecord>, t: HaTiming, watch: LeaseWatch): Promise<void> {
    const ctx = this.ctx();
    const now = this.clock();
    const silentMs = Math.max(0, now - (ctx.live.lastSeenMono.get(host.id) ?? this.startedAt));
    const lease = this.leaseOf(host.data, watch);
    const report = ctx.live.haReports.get(host.id);
    const input = { state: host.data.state, silentMs, lease, reportsLeaseLost: report?.enabled === true && !report.leaseFresh };
    let j = judgeHost(input, t);
    // A host that still reports is failed over only while HA VMs are assigned to it.
    if (isDead(j) && silentMs < t.heartbeatSuspectMs) j = judgeHost({ ...input, haVms: (await ctx.state.vmsOnHost(host.id)).filter((v) => v.data.spec.ha === true).length }, t);
    const before = this.judged.get(host.id);
    this.judged.set(host.id, { ...j, heartbeatSilentMs: Math.round(silentMs), ...(lease.seen ? { leaseUnchangedMs: lease.unchangedMs } : {}) });
    if (before?.verdict !== j.verdict && (before || j.verdict !== 'alive')) this.publish(host.data, j, before?.verdict);
    if (isDead(j) && (await this.declareDead(host.id, j))) {
      this.judged.set(host.id, { ...judgeHost({ state: 'Fenced', silentMs, lease }, t), heartbeatSilentMs: Math.round(silentMs), leaseUnchangedMs: lease.unchangedMs });
    }
  }

  private leaseOf(host: HostRecord, watch: LeaseWatch): LeaseObservation {
    const lease = watch.observe(host.id);
    const theirs = host.inventory?.sharedPool?.id;
    if (theirs && watch.poolId && theirs !== watch.poolId) {
      return { ...lease, mismatch: `it reports shared pool id ${theirs}, the controller's --shared-pool ${watch.dir} has id ${watch.poolId} (not the same storage)` };
    }
    return lease;
  }

  private publish(host: HostRecord, j: HostHaJudgement, from: string | undefined): void {
    const ctx = this.ctx();
    const message = `host ${host.name}: ${j.verdict} (${j.reason})`;
    if (['dead', 'isolated', 'no-lease', 'lease-stale', 'lease-lost'].includes(j.verdict)) ctx.log.warn(message);
    ctx.state.events.publish({ kind: 'host.ha', resource: host.name, message, data: { id: host.id, from, to: j.verdict, reason: j.reason } });
  }

  /** Fenced, host-down marks and the failover job, in one commit; then the job runs. False: the host changed meanwhile. */
  private async declareDead(hostId: string, j: HostHaJudgement): Promise<boolean> {
    const ctx = this.ctx();
    const job = await retryOnConflict(async () => {
      const host = await ctx.state.getHost(hostId);
      if (!host || !WATCHED_HOST_STATES.includes(host.data.state)) return undefined;
      const vms = await ctx.state.vmsOnHost(hostId);
      const sel = selectFailover(vms.map((v) => ({ ...v.data, ha: v.data.spec.ha, haPriority: v.data.spec.haPriority, storage: v.data.spec.storage })));
      const outcomes: Record<string, HaVmOutcome> = Object.fromEntries(sel.notRestartable.map((n) => [n.id, { restarted: false, reason: n.reason }]));
      const order = [...sel.restart, ...sel.notRestartable.map((n) => n.id)];
      const haVmNames = Object.fromEntries(vms.filter((v) => order.includes(v.id)).map((v) => [v.id, v.data.name]));
      const newJob = ctx.runner.newJob('ha.failover', host.data.name, { hostIds: [hostId], haVmIds: order, haVmNames, haOutcomes: outcomes });
      const next: HostRecord = { ...host.data, state: 'Fenced' satisfies HostStateName, failedAt: nowIso(), failoverJobId: newJob.id };
      const ops: CommitOp[] = [putOp(KIND.host, hostId, next, host.rev), createOp(KIND.job, newJob.id, newJob), ...hostDownOps(vms, host.data.name, outcomes)];
      const byId = new Map(vms.map((v) => [v.id, v.data.name]));
      const events: EventDraft[] = [
        ...hostStateEvent(host.data, next),
        failoverStartedEvent(next, j.reason, sel.restart.map((id) => byId.get(id) ?? id), sel.notRestartable.map((n) => `${byId.get(n.id) ?? n.id} (${n.reason})`)),
        ...sel.notRestartable.map((n) => vmFailoverEvent({ id: n.id, name: byId.get(n.id) ?? n.id }, next.name, { restarted: false, reason: n.reason })),
      ];
      await ctx.state.commit(ops, events);
      return newJob;
    });
    if (!job) return false;
    ctx.log.warn(`host ${job.target} declared dead (${j.reason}); failover job ${job.id}`);
    ctx.runner.start(job);
    return true;
  }
}

/** The VMs that stay on the dead host say so: non-HA ones, and HA ones that cannot run elsewhere. */
function hostDownOps(vms: Versioned<VmRecord>[], hostName: string, outcomes: Record<string, HaVmOutcome>): CommitOp[] {
  const ops: CommitOp[] = [];
  for (const v of vms) {
    const o = outcomes[v.id];
    let reason: string | undefined;
    if (v.data.spec.ha !== true) reason = `host ${hostName} failed; not HA: it stays assigned there and continues when the host is back`;
    else if (o && !o.restarted) reason = `host ${hostName} failed; not restarted elsewhere: ${o.reason}`;
    if (reason) ops.push(putOp(KIND.vm, v.id, { ...v.data, reason: hostDownReason(reason), updatedAt: nowIso() }, v.rev));
  }
  return ops;
}
