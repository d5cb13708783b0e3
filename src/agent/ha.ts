// The agent's part in self-fencing (docs/ha.md): it starts the host's fencer
// (or re-attaches to the one an earlier run left), pings it, keeps
// fence-targets.json in step with the QEMUs of HA VMs, refuses to start an
// HA VM while the lease is not fresh, and reports the fencer's state.
import type { Logger } from 'pino';
import type { HostHaReport, VmAssignment } from '../api/agent-protocol.js';
import type { HaTiming } from '../core/ha-timing.js';
import { FencerLink } from './fencer/client.js';
import { fencerFiles, type FenceTarget } from './fencer/protocol.js';
import { writeTargets } from './fencer/targets.js';

/** What a VM supervisor asks before it starts a QEMU. */
export interface HaGate {
  /** Why this assignment's QEMU must not start now; undefined: it may. */
  refuseStart(a: VmAssignment): string | undefined;
}

export interface HostHaOptions {
  stateDir: string;
  /** Absent: HA is off on this host; `offReason` says why. */
  sharedPoolDir?: string;
  timing?: HaTiming;
  offReason?: string;
  log: Logger;
  /** The fence targets of the VMs the agent supervises now. */
  targets(): FenceTarget[];
  /** The lease became fresh: starts refused before may go ahead. */
  onFresh(): void;
  /** Run the fencer with this node argv (tests). */
  fencerCommand?: string[];
  /** A planned agent stop with HA VMs running: how long the fencer holds the lease for it (default 60 s). */
  restartGraceMs?: number;
}

export const DEFAULT_RESTART_GRACE_MS = 60_000;

export class HostHa implements HaGate {
  private link: FencerLink | null = null;
  private written: string | undefined;
  private wasFresh = false;

  constructor(private readonly o: HostHaOptions) {}

  get enabled(): boolean {
    return this.o.sharedPoolDir !== undefined && this.o.timing !== undefined;
  }

  /** Starts or re-attaches to the fencer and waits (bounded) for a fresh lease. */
  async start(hostId: string): Promise<void> {
    this.targetsChanged();
    if (!this.enabled) {
      const ha = this.o.targets().length;
      this.o.log.info(`HA is off on this host: ${this.o.offReason ?? 'no fencer'}${ha ? `; ${ha} HA VM(s) here will not be started` : ''}`);
      return;
    }
    const timing = this.o.timing as HaTiming;
    this.link = await FencerLink.open({
      stateDir: this.o.stateDir, sharedPoolDir: this.o.sharedPoolDir as string, hostId, timing, log: this.o.log,
      ...(this.o.fencerCommand ? { command: this.o.fencerCommand } : {}),
      onStatus: () => this.checkFresh(),
    });
    const until = Date.now() + timing.fenceAfterMs;
    while (!this.link.leaseFresh && Date.now() < until) await new Promise((r) => setTimeout(r, timing.agentPingMs / 2));
    if (!this.link.leaseFresh) this.o.log.warn(`the lease is not fresh ${timing.fenceAfterMs} ms after the fencer started: HA VMs do not start until it is (${this.notFreshReason()})`);
    this.checkFresh();
  }

  /** The controller gave this host a new id: the fencer moves to that id's lease. */
  async rehost(hostId: string): Promise<void> {
    if (!this.enabled) return;
    this.link?.close();
    this.link = null;
    await this.start(hostId);
  }

  /** Rewrites fence-targets.json when the QEMUs of HA VMs changed (cheap when nothing did). */
  targetsChanged(): void {
    const targets = this.o.targets();
    const text = JSON.stringify(targets);
    if (text === this.written) return;
    try {
      writeTargets(fencerFiles(this.o.stateDir).targets, targets);
      this.written = text;
    } catch (err) {
      this.o.log.error({ err }, `cannot write the fence targets: ${(err as Error).message}`);
    }
  }

  refuseStart(a: VmAssignment): string | undefined {
    if (a.spec.ha !== true) return undefined;
    if (!this.enabled) return `HA VM not started: this host cannot fence itself (${this.o.offReason ?? 'HA is off'})`;
    if (this.link?.leaseFresh) return undefined;
    return `HA VM not started: this host's lease is not fresh (${this.notFreshReason()}); it starts once the lease is renewed`;
  }

  report(): HostHaReport {
    if (!this.enabled) return { enabled: false, reason: this.o.offReason ?? 'HA is off', leaseFresh: false, fenced: [] };
    const s = this.link?.status;
    const fresh = this.link?.leaseFresh ?? false;
    return {
      enabled: true,
      leaseFresh: fresh,
      ...(fresh ? {} : { reason: this.notFreshReason() }),
      ...(s && s.status.lastRenewalAgeMs !== null ? { lastRenewalAgeMs: Math.round(s.status.lastRenewalAgeMs + s.ageMs) } : {}),
      ...(this.link?.fencerPid !== undefined ? { fencerPid: this.link.fencerPid } : {}),
      fenced: (s?.status.fenced ?? []).map((f) => ({ vmId: f.vmId, pid: f.pid, at: f.at, gone: f.gone })),
    };
  }

  /**
   * Agent stop. Without HA QEMUs running the fencer stands down. With some,
   * it holds the lease for restartGraceMs (a restart or upgrade of the agent
   * does not cost the VMs), then stops renewing and fences them at its
   * deadline unless an agent came back: they are never left unguarded.
   */
  async stop(): Promise<void> {
    const link = this.link;
    this.link = null;
    if (!link) return;
    const running = this.o.targets().filter((t) => t.pid !== undefined);
    if (running.length === 0) {
      await link.standDown();
      return;
    }
    this.o.log.warn({ vms: running.map((t) => t.vmId), holdMs: (this.o.restartGraceMs ?? DEFAULT_RESTART_GRACE_MS) }, `${running.length} HA VM(s) keep running: the fencer holds the lease for ${(this.o.restartGraceMs ?? DEFAULT_RESTART_GRACE_MS)} ms, then fences them unless the agent is back`);
    await link.hold((this.o.restartGraceMs ?? DEFAULT_RESTART_GRACE_MS));
  }

  private checkFresh(): void {
    const fresh = this.link?.leaseFresh ?? false;
    if (fresh && !this.wasFresh) this.o.onFresh();
    this.wasFresh = fresh;
  }

  private notFreshReason(): string {
    const s = this.link?.status;
    if (!s) return 'no status from the fencer yet';
    const age = s.status.lastRenewalAgeMs;
    if (s.status.leaseFresh && age !== null) return `the fencer has not answered for ${Math.round(s.ageMs)} ms (last renewal ${Math.round(age + s.ageMs)} ms ago)`;
    const what = age === null ? 'no renewal has succeeded yet' : `last renewal ${age} ms ago`;
    return `${what}; fencer: ${s.status.state}${s.status.leaseValid ? '' : ', fenced'}`;
  }
}
