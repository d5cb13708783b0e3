// The host's automatic balloon (docs/memory.md, "Balloon policy"): every
// interval, gathers the host's MemAvailable and each VM's balloon size and
// guest statistics, runs the pure policy (src/core/balloon-policy.ts), and
// applies its targets with QMP `balloon`, logging each with its reason.
// VMs come through a narrow interface, so the loop knows nothing of the
// agent's supervisors. One round at a time; stop() waits for the one running.
import type { Logger } from 'pino';
import { DEFAULT_BALLOON_POLICY, planBalloon, type BalloonPlan, type BalloonPolicy, type BalloonTarget, type BalloonVmFacts, type GuestMemoryStats } from '../core/balloon-policy.js';
import { readHostMemory, type HostMemory } from '../host/meminfo.js';
import { queryBalloonMiB, queryGuestStats, setBalloonMiB, setGuestStatsPolling } from '../qemu/balloon.js';
import { QmpCommandError, type QmpClient } from '../qemu/qmp-client.js';

export interface BalloonVm {
  id: string;
  /** The VM's memory size (with hot-added memory): the balloon's ceiling. */
  configuredMiB: number;
  /** Lowest balloon target; default max(128 MiB, 25% of configuredMiB). */
  floorMiB?: number;
  /** Its resource pool's memory shares, when set (the policy's order under pressure). */
  memoryShares?: number;
  qmp: QmpClient;
}

export interface BalloonVmSource {
  /** Running VMs that have a balloon device; leave out VMs that are migrating or being stopped. */
  list(): BalloonVm[];
}

/** A balloon target that was applied. */
export interface BalloonChange extends BalloonTarget {
  fromMiB: number;
  atMs: number;
}

export interface BalloonLoopOptions {
  vms: BalloonVmSource;
  log: Logger;
  /** Between rounds; default 10 s. Guests are asked for statistics twice as often. */
  intervalMs?: number;
  policy?: Partial<BalloonPolicy>;
  /** Held back for the host itself (agent flag --reserve-memory). */
  reservedMiB?: number;
  /** Default: /proc/meminfo. */
  hostMemory?: () => Promise<HostMemory>;
  now?: () => number;
  /** Deadline of one VM's QMP exchanges in a round; default 5 s. */
  vmTimeoutMs?: number;
  onChange?: (change: BalloonChange) => void;
  onPressure?: (underPressure: boolean, reason: string) => void;
}

interface VmState {
  qmp: QmpClient;
  pollingOn: boolean;
  /** Why this QEMU cannot be ballooned (no balloon device); it is skipped until it restarts. */
  unusable?: string;
  latest?: GuestMemoryStats;
  previous?: GuestMemoryStats;
  lastChangeAtMs?: number;
  /** The left-alone code last logged, to log a streak once. */
  aloneCode?: string;
  failing?: boolean;
}

const DEFAULT_INTERVAL_MS = 10_000;
const DEFAULT_VM_TIMEOUT_MS = 5000;

export class BalloonLoop {
  private readonly intervalMs: number;
  private readonly policy: BalloonPolicy;
  private readonly now: () => number;
  private readonly hostMemory: () => Promise<HostMemory>;
  private readonly states = new Map<string, VmState>();
  private wasUnderPressure = false;
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<unknown> | null = null;
  /** Rounds are scheduled (between start and stop). */
  private active = false;
  /** stop() was called: no balloon command from here on. */
  private stopped = false;
  /** Bumped by start(), so a chain of rounds from before a stop() does not go on. */
  private generation = 0;

  constructor(private readonly opts: BalloonLoopOptions) {
    this.intervalMs = opts.intervalMs ?? DEFAULT_INTERVAL_MS;
    // Statistics must stay fresh across at least a few rounds, however long they are.
    const statsMaxAgeMs = Math.max(DEFAULT_BALLOON_POLICY.statsMaxAgeMs, 3 * this.intervalMs);
    this.policy = { ...DEFAULT_BALLOON_POLICY, statsMaxAgeMs, ...opts.policy };
    this.now = opts.now ?? Date.now;
    this.hostMemory = opts.hostMemory ?? readHostMemory;
  }

  start(): void {
    if (this.active) return;
    this.active = true;
    this.stopped = false;
    this.generation++;
    this.schedule(0, this.generation);
  }

  /** No new round or balloon command after this; resolves once the round in flight ended. */
  async stop(): Promise<void> {
    this.active = false;
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    await this.running;
  }

  /** Runs one round now (unless one is running: then waits for it). */
  async round(): Promise<BalloonPlan | null> {
    if (this.running) {
      await this.running;
      return null;
    }
    const run = this.runRound();
    this.running = run;
    try {
      return await run;
    } finally {
      this.running = null;
    }
  }

  private schedule(delayMs: number, generation: number): void {
    if (!this.active || generation !== this.generation) return;
    this.timer = setTimeout(() => {
      this.timer = null;
      void this.round()
        .catch((err: unknown) => this.opts.log.warn({ err }, `balloon round failed: ${(err as Error).message}`))
        .finally(() => this.schedule(this.intervalMs, generation));
    }, delayMs);
    this.timer.unref();
  }

  private async runRound(): Promise<BalloonPlan> {
    const vms = this.opts.vms.list();
    this.forgetGone(vms);
    const [host, facts] = await Promise.all([this.hostMemory(), Promise.all(vms.map((vm) => this.gather(vm)))]);
    const nowMs = this.now();
    const plan = planBalloon({
      host: { ...host, reservedMiB: this.opts.reservedMiB ?? 0 },
      vms: facts.filter((f): f is BalloonVmFacts => f !== null),
      nowMs,
      policy: this.policy,
      wasUnderPressure: this.wasUnderPressure,
    });
    this.notePressure(plan);
    this.noteLeftAlone(plan, vms);
    await this.apply(plan.targets, vms, facts, nowMs);
    return plan;
  }

  /** A VM's facts, or null when it cannot be read this round. */
  private async gather(vm: BalloonVm): Promise<BalloonVmFacts | null> {
    const st = this.stateOf(vm);
    if (st.unusable) return null;
    try {
      const read = async (): Promise<[number, GuestMemoryStats | null]> => {
        if (!st.pollingOn) await setGuestStatsPolling(vm.qmp, Math.max(1, Math.round(this.intervalMs / 2000)));
        st.pollingOn = true;
        return Promise.all([queryBalloonMiB(vm.qmp), queryGuestStats(vm.qmp)]);
      };
      const [actualMiB, guest] = await withDeadline(read(), this.opts.vmTimeoutMs ?? DEFAULT_VM_TIMEOUT_MS, `vm ${vm.id}: no QMP answer`);
      if (guest && guest.atMs !== st.latest?.atMs) {
        st.previous = st.latest;
        st.latest = guest;
      }
      if (st.failing) this.opts.log.info({ vm: vm.id }, `vm ${vm.id}: balloon readable again`);
      st.failing = false;
      return {
        id: vm.id, configuredMiB: vm.configuredMiB, actualMiB,
        ...(guest ? { guest } : {}),
        ...(guest && st.previous ? { previousGuest: st.previous } : {}),
        ...(vm.floorMiB !== undefined ? { floorMiB: vm.floorMiB } : {}),
        ...(vm.memoryShares !== undefined ? { memoryShares: vm.memoryShares } : {}),
        ...(st.lastChangeAtMs !== undefined ? { lastChangeAtMs: st.lastChangeAtMs } : {}),
      };
    } catch (err) {
      this.readFailed(vm, st, err);
      return null;
    }
  }

  private readFailed(vm: BalloonVm, st: VmState, err: unknown): void {
    if (err instanceof QmpCommandError && (err.class === 'DeviceNotFound' || err.class === 'DeviceNotActive')) {
      st.unusable = err.desc;
      this.opts.log.info({ vm: vm.id }, `vm ${vm.id} has no balloon (${err.desc}): left out of the balloon policy`);
      return;
    }
    // A VM being stopped or a busy QEMU: try again next round, log the first failure of a streak.
    if (!st.failing) this.opts.log.warn({ vm: vm.id, err }, `vm ${vm.id}: cannot read its balloon: ${(err as Error).message}`);
    st.failing = true;
  }

  private async apply(targets: BalloonTarget[], vms: BalloonVm[], facts: (BalloonVmFacts | null)[], nowMs: number): Promise<void> {
    await Promise.all(targets.map(async (t) => {
      const vm = vms.find((v) => v.id === t.vmId);
      const fromMiB = facts.find((f) => f?.id === t.vmId)?.actualMiB;
      if (!vm || fromMiB === undefined || this.stopped) return;
      try {
        await withDeadline(setBalloonMiB(vm.qmp, t.targetMiB), this.opts.vmTimeoutMs ?? DEFAULT_VM_TIMEOUT_MS, `vm ${vm.id}: no QMP answer to balloon`);
        this.stateOf(vm).lastChangeAtMs = nowMs;
        this.opts.log.info({ vm: vm.id, kind: t.kind, fromMiB, targetMiB: t.targetMiB }, `balloon: ${t.reason}`);
        this.opts.onChange?.({ ...t, fromMiB, atMs: nowMs });
      } catch (err) {
        this.opts.log.warn({ vm: vm.id, err }, `vm ${vm.id}: cannot set its balloon to ${t.targetMiB} MiB: ${(err as Error).message}`);
      }
    }));
  }

  private notePressure(plan: BalloonPlan): void {
    if (plan.underPressure === this.wasUnderPressure) return;
    this.wasUnderPressure = plan.underPressure;
    if (plan.underPressure) this.opts.log.warn(`host memory pressure: ${plan.hostReason}`);
    else this.opts.log.info(`host memory pressure over: ${plan.hostReason}`);
    this.opts.onPressure?.(plan.underPressure, plan.hostReason);
  }

  /** Logs a VM's left-alone reason when it starts (a needy guest the host cannot serve as a warning). */
  private noteLeftAlone(plan: BalloonPlan, vms: BalloonVm[]): void {
    for (const vm of vms) {
      const st = this.states.get(vm.id);
      const alone = plan.leftAlone.find((l) => l.vmId === vm.id);
      if (!st || st.unusable || alone?.code === st.aloneCode) continue;
      st.aloneCode = alone?.code;
      if (!alone || alone.code === 'settling') continue;
      if (alone.code === 'host-short') this.opts.log.warn({ vm: vm.id }, `balloon: ${alone.reason}`);
      else this.opts.log.info({ vm: vm.id }, `balloon left alone: ${alone.reason}`);
    }
  }

  /** The VM's state; fresh when its QEMU is new (a restart: a new QMP client). */
  private stateOf(vm: BalloonVm): VmState {
    let st = this.states.get(vm.id);
    if (!st || st.qmp !== vm.qmp) {
      st = { qmp: vm.qmp, pollingOn: false };
      this.states.set(vm.id, st);
    }
    return st;
  }

  private forgetGone(vms: BalloonVm[]): void {
    const ids = new Set(vms.map((v) => v.id));
    for (const id of this.states.keys()) if (!ids.has(id)) this.states.delete(id);
  }
}

function withDeadline<T>(p: Promise<T>, ms: number, message: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`${message} within ${ms} ms`)), ms)));
  return Promise.race([p, deadline]).finally(() => clearTimeout(timer));
}
