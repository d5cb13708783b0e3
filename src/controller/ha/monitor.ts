// The failover loop of the controller (docs/failover.md). Every pollMs it
// reads the hosts' lease records (lease-watch.ts), judges each host from its
// heartbeat silence and its lease (src/core/ha-failover.ts), publishes a
// `host.ha` event when a verdict changes, and declares the hosts judged dead
// in this poll Fenced together (declare.ts): one commit makes them Fenced,
// marks the VMs that stay on them host-down, and creates one ha.failover job
// that restarts all their HA VMs elsewhere in one order by priority. The job
// is persisted: a controller that dies right after the commit finishes it
// when it starts again. Every few polls it also retries HA VMs left on
// failed hosts when room may have appeared (retry.ts). A suspected host
// with a BMC is powered off through it (power-fence.ts); once the BMC
// confirms it off, the host is dead without waiting for its lease.
import type { HostHaStatus } from '../../api/resources.js';
import { isDead, judgeHost, powerFenceDue, WATCHED_HOST_STATES, type HostHaJudgement, type LeaseObservation } from '../../core/ha-failover.js';
import type { HaTiming } from '../../core/ha-timing.js';
import type { ControllerContext } from '../context.js';
import type { HostRecord } from '../records.js';
import type { Versioned } from '../state.js';
import { declareDead } from './declare.js';
import { LeaseWatch } from './lease-watch.js';
import { PowerFencing, type PowerFenceTiming } from './power-fence.js';
import { FailoverRetry } from './retry.js';

export interface FailoverConfig {
  /** The shared pool as the controller sees it (controller flag --shared-pool). */
  sharedPoolDir: string;
  timing: HaTiming;
  /** How long a power off may take to be confirmed (power-fence.ts; defaults there). */
  powerFence?: PowerFenceTiming;
}

export const FAILOVER_OFF_REASON = 'HA failover is off: the controller runs without --shared-pool, so it cannot watch the hosts\' leases';

/** A host judged dead in this poll, with what the judgement saw (to show it Fenced once declared). */
interface DeadJudgement {
  host: Versioned<HostRecord>;
  j: HostHaJudgement;
  silentMs: number;
  lease: LeaseObservation;
}

export class HaMonitor {
  readonly watch: LeaseWatch | undefined;
  readonly retry: FailoverRetry;
  readonly power: PowerFencing;
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
    this.retry = new FailoverRetry(ctx);
    this.power = new PowerFencing(ctx, config?.powerFence, clock);
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

  /** One round: read the leases, judge every host, fail over the dead ones together, retry what was left. */
  async tick(): Promise<void> {
    const cfg = this.config;
    const watch = this.watch;
    if (!cfg || !watch || this.ticking) return;
    this.ticking = true;
    try {
      this.noticeStall(cfg.timing);
      const hosts = await this.ctx().state.listHosts();
      // Fenced hosts are read too (never judged by it): one that comes back is judged on a fresh lease, not a stale one.
      void watch.poll(hosts.filter((h) => WATCHED_HOST_STATES.includes(h.data.state) || h.data.state === 'Fenced').map((h) => h.id));
      const dead: DeadJudgement[] = [];
      for (const host of hosts) {
        const d = await this.judge(host, cfg.timing, watch);
        if (d) dead.push(d);
      }
      if (dead.length > 0) await this.failOver(dead, cfg.timing);
      await this.retry.onPoll(hosts);
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

  /** Judges one host and publishes a changed verdict; returns the judgement when it is dead. */
  private async judge(host: Versioned<HostRecord>, t: HaTiming, watch: LeaseWatch): Promise<DeadJudgement | undefined> {
    const ctx = this.ctx();
    const now = this.clock();
    const lastSeen = ctx.live.lastSeenMono.get(host.id);
    const silentMs = Math.max(0, now - (lastSeen ?? this.startedAt));
    const lease = this.leaseOf(host.data, watch);
    const report = ctx.live.haReports.get(host.id);
    this.power.noteReports(host.id, lastSeen);
    const input = { state: host.data.state, silentMs, lease, reportsLeaseLost: report?.enabled === true && !report.leaseFresh, poweredOff: this.power.confirmedOff(host.id) };
    let j = judgeHost(input, t);
    // A host that still reports is failed over only while HA VMs are assigned to it.
    if (isDead(j) && silentMs < t.heartbeatSuspectMs) j = judgeHost({ ...input, haVms: (await ctx.state.vmsOnHost(host.id)).filter((v) => v.data.spec.ha === true).length }, t);
    if (powerFenceDue(input, j)) {
      await this.power.begin(host.data, lastSeen, j.reason);
      const note = this.power.note(host.id);
      if (note) j = { ...j, reason: `${j.reason}; ${note}` };
    }
    const before = this.judged.get(host.id);
    this.judged.set(host.id, { ...j, heartbeatSilentMs: Math.round(silentMs), ...(lease.seen ? { leaseUnchangedMs: lease.unchangedMs } : {}) });
    if (before?.verdict !== j.verdict && (before || j.verdict !== 'alive')) this.publish(host.data, j, before?.verdict);
    return isDead(j) ? { host, j, silentMs, lease } : undefined;
  }

  /** Declares the hosts judged dead in this poll together (one commit, one job), then runs the job. */
  private async failOver(dead: DeadJudgement[], t: HaTiming): Promise<void> {
    const ctx = this.ctx();
    const declared = await declareDead(ctx, dead.map((d) => ({ hostId: d.host.id, why: d.j.reason })));
    if (!declared) return;
    for (const d of dead.filter((x) => declared.hostIds.includes(x.host.id))) {
      this.judged.set(d.host.id, { ...judgeHost({ state: 'Fenced', silentMs: d.silentMs, lease: d.lease }, t), heartbeatSilentMs: Math.round(d.silentMs), leaseUnchangedMs: d.lease.unchangedMs });
      ctx.log.warn(`host ${d.host.data.name} declared dead (${d.j.reason}); failover job ${declared.job.id}`);
    }
    ctx.runner.start(declared.job);
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
}
