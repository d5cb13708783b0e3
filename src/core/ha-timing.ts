// Every HA timeout, derived from one I/O timeout the way sanlock derives its
// own: a storage write that takes longer than `ioTimeoutMs` counts as failed.
// Pure; both sides use it: the host's fencer (renew, stop renewing, fence)
// and the observers that declare a host dead (docs/ha.md has the timeline).
//
// The safety argument, with T = ioTimeoutMs:
// - The fencer renews the host's lease record every T (a write that must end
//   within T). It renews only while the agent proves it is alive (pings it at
//   least every agentStallMs), so a stalled agent loses its lease too.
// - The fencer kills the host's HA QEMUs once fenceAfterMs have passed since
//   the START of its last renewal that ended in time. Counting from the start
//   makes a write that lands late harmless.
// - An observer sees a renewal no earlier than it was started, so the host's
//   fence deadline is at most (when the observer last saw the record change)
//   + fenceAfterMs. It declares the host dead only after the record stayed
//   unchanged for expireAfterMs = fenceAfterMs + killMarginMs + pollMs + T,
//   measured on its own monotonic clock: by then the QEMUs were killed and
//   reaped, with one T to spare for clock rate differences and scheduling.

export interface HaTiming {
  ioTimeoutMs: number;
  /** The fencer writes the lease record this often. */
  renewEveryMs: number;
  /** The fencer stops renewing when the agent has not pinged it for this long. */
  agentStallMs: number;
  /** The agent pings the fencer this often. */
  agentPingMs: number;
  /** Since the start of the last timely renewal: the fencer kills the HA QEMUs. */
  fenceAfterMs: number;
  /** Time the fencer allows for SIGKILL to take the QEMUs down (it waits for them to be gone). */
  killMarginMs: number;
  /** Observers read lease records this often. */
  pollMs: number;
  /** Unchanged this long on the observer's own clock: the host has fenced itself, its VMs may run elsewhere. */
  expireAfterMs: number;
  /** Heartbeat silence after which the controller suspects a host (and starts watching its lease). */
  heartbeatSuspectMs: number;
}

export const DEFAULT_IO_TIMEOUT_MS = 1000;

/** All timeouts from T (docs/ha.md). */
export function haTiming(ioTimeoutMs = DEFAULT_IO_TIMEOUT_MS): HaTiming {
  const t = ioTimeoutMs;
  const fenceAfterMs = 4 * t; // three renewals in a row may fail before the host fences
  const killMarginMs = t;
  const pollMs = Math.max(100, Math.round(t / 4));
  return {
    ioTimeoutMs: t,
    renewEveryMs: t,
    agentStallMs: 3 * t,
    agentPingMs: Math.max(100, Math.round(t / 4)),
    fenceAfterMs,
    killMarginMs,
    pollMs,
    expireAfterMs: fenceAfterMs + killMarginMs + pollMs + t,
    heartbeatSuspectMs: 3 * t,
  };
}

/**
 * The margins the safety argument needs; an empty list when they hold. Agents
 * and the controller refuse to start with a configuration that breaks one.
 */
export function timingProblems(h: HaTiming): string[] {
  const p: string[] = [];
  if (!(h.ioTimeoutMs >= 100)) p.push(`ioTimeoutMs must be at least 100 (got ${h.ioTimeoutMs})`);
  if (h.renewEveryMs > h.ioTimeoutMs) p.push(`renewEveryMs (${h.renewEveryMs}) must not exceed ioTimeoutMs (${h.ioTimeoutMs})`);
  if (h.fenceAfterMs < 2 * h.renewEveryMs + h.ioTimeoutMs) p.push(`fenceAfterMs (${h.fenceAfterMs}) must allow a failed renewal: at least 2 * renewEveryMs + ioTimeoutMs`);
  if (h.agentPingMs * 2 > h.agentStallMs) p.push(`agentPingMs (${h.agentPingMs}) must be at most half of agentStallMs (${h.agentStallMs})`);
  const needed = h.fenceAfterMs + h.killMarginMs + h.pollMs + h.ioTimeoutMs;
  if (h.expireAfterMs < needed) p.push(`expireAfterMs (${h.expireAfterMs}) must be at least fenceAfterMs + killMarginMs + pollMs + ioTimeoutMs = ${needed}: observers could declare a host dead before it fenced itself`);
  return p;
}

/** The lease record a host's fencer writes into the shared pool (leases/<hostId>.json). */
export interface LeaseRecord {
  hostId: string;
  /** A fencer process's random id: a restarted fencer counts as a change even when seq starts again. */
  incarnation: string;
  /** Bumped by every renewal. */
  seq: number;
  /** Wall clock of the writer; for people only, never compared across hosts. */
  writtenAt: string;
}

/** Has the record changed since the one last seen? (Observers compare only this, never times.) */
export function leaseChanged(before: Pick<LeaseRecord, 'incarnation' | 'seq'> | undefined, now: Pick<LeaseRecord, 'incarnation' | 'seq'> | undefined): boolean {
  if (!now) return false;
  return !before || before.incarnation !== now.incarnation || before.seq !== now.seq;
}
