// Pure: what the fencer does next, from its own monotonic clock readings
// (ms) and the HA timing (src/core/ha-timing.ts, docs/ha.md). No I/O, no
// clock of its own: the shell passes `now` and every reading in.
import type { HaTiming } from '../../core/ha-timing.js';

/** At most this many renewal writes may be unsettled at once (a hung mount holds one libuv thread each). */
export const MAX_WRITES_IN_FLIGHT = 3;

export interface FencerClock {
  now: number;
  /** When this fencer process started. */
  startedAt: number;
  /** The agent's last ping; undefined while no agent has pinged since the fencer started. */
  lastPingAt?: number;
  /** Start of the last renewal attempt (whatever became of it). */
  lastAttemptAt?: number;
  /** Renewal writes started and not yet settled. */
  writesInFlight: number;
  /**
   * Start of the last renewal that ended within ioTimeoutMs: of this
   * fencer, or of the one before it on this boot (its state file). The
   * fence deadline counts from here; from startedAt when there is none.
   */
  lastGoodAt?: number;
  /** The agent told the fencer to stand down: it renews and fences no more. */
  standingDown: boolean;
  /** The agent stopped on purpose and counts as alive until then (a planned restart with HA VMs running). */
  holdUntil?: number;
}

export type RenewState =
  | 'renewing' // the agent is alive and the writes are not stuck
  | 'no-agent' // no agent has pinged since this fencer started
  | 'agent-stalled' // the agent's last ping is agentStallMs old or older
  | 'writes-stuck' // MAX_WRITES_IN_FLIGHT writes have not settled
  | 'standing-down';

export interface FencerDecision {
  /** Start a renewal write now. */
  renew: boolean;
  /** Whether the fencer renews at all at the moment, and if not, why. */
  state: RenewState;
  /** Kill every HA QEMU of the host now (and any that starts while this holds). */
  fence: boolean;
  /** Since the last renewal that was due ended in time: HA VMs may start. */
  leaseFresh: boolean;
  /** The fence deadline has not passed. */
  leaseValid: boolean;
  /** When the HA QEMUs must be dead (fenceAfterMs after the base). */
  fenceAt: number;
  /** Age of the last timely renewal's start; undefined when there is none. */
  renewalAgeMs?: number;
}

export function decideFencer(c: FencerClock, t: HaTiming): FencerDecision {
  const base = c.lastGoodAt ?? c.startedAt;
  const fenceAt = base + t.fenceAfterMs;
  const leaseValid = c.now < fenceAt;
  const renewalAgeMs = c.lastGoodAt === undefined ? undefined : c.now - c.lastGoodAt;
  // Fresh: the renewal due most recently has ended in time (it may still be under way within its I/O timeout).
  const leaseFresh = renewalAgeMs !== undefined && renewalAgeMs < t.renewEveryMs + t.ioTimeoutMs && leaseValid && !c.standingDown;
  const state = renewState(c, t);
  const due = c.lastAttemptAt === undefined || c.now - c.lastAttemptAt >= t.renewEveryMs;
  return {
    renew: state === 'renewing' && due,
    state,
    fence: !leaseValid && !c.standingDown,
    leaseFresh,
    leaseValid,
    fenceAt,
    ...(renewalAgeMs !== undefined ? { renewalAgeMs } : {}),
  };
}

function renewState(c: FencerClock, t: HaTiming): RenewState {
  if (c.standingDown) return 'standing-down';
  if (c.lastPingAt === undefined) return 'no-agent';
  const held = c.holdUntil !== undefined && c.now < c.holdUntil;
  if (c.now - c.lastPingAt >= t.agentStallMs && !held) return 'agent-stalled';
  if (c.writesInFlight >= MAX_WRITES_IN_FLIGHT) return 'writes-stuck';
  return 'renewing';
}

/**
 * How a renewal attempt that settled counts: good only when it succeeded and
 * settled within ioTimeoutMs of its start (as measured when its result was
 * seen: a fencer that itself ran late counts the write as failed, which is
 * the safe side). Returns the new lastGoodAt.
 */
export function afterRenewal(lastGoodAt: number | undefined, attempt: { startedAt: number; settledAt: number; ok: boolean }, t: HaTiming): number | undefined {
  const inTime = attempt.ok && attempt.settledAt - attempt.startedAt <= t.ioTimeoutMs;
  if (!inTime) return lastGoodAt;
  return lastGoodAt === undefined ? attempt.startedAt : Math.max(lastGoodAt, attempt.startedAt);
}

/** What the fencer of an earlier run on this boot left for the next one (fencer-state.json). */
export interface InheritedLease {
  bootId: string;
  lastGoodAt: number;
}

/**
 * The deadline base a new fencer takes over: the last timely renewal of the
 * fencer before it on this boot (the monotonic clock is shared by all
 * processes of one boot), so that restarting the fencer never moves a fence
 * deadline later. A record of another boot says nothing (no QEMU survived it).
 */
export function inheritedLastGood(prev: InheritedLease | undefined, bootId: string, now: number): number | undefined {
  if (!prev || prev.bootId !== bootId || !Number.isFinite(prev.lastGoodAt) || prev.lastGoodAt > now) return undefined;
  return prev.lastGoodAt;
}
