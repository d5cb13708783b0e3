// Host states from reports and from silence. The decisions are pure; the
// loop (the shell) reads the clock once per tick and commits the changes.
import type { Logger } from 'pino';
import type { HostStateName } from '../api/resources.js';
import { hostStateOnReport as coreStateOnReport, silenceMakesUnreachable } from '../core/ha-failover.js';
import { hostStateEvent } from './events.js';
import type { LiveState } from './live-state.js';
import { KIND, type HostRecord } from './records.js';
import { putOp, type ControllerState } from './state.js';

export const UNREACHABLE_AFTER_MS = 10_000;

/**
 * A report proves the agent is alive: a joining or unreachable host becomes
 * Ready; a failed-over (Fenced) one Recovering while `pending` (old copies
 * of VMs that run elsewhere now may remain there), then Ready (src/core/ha-failover.ts).
 */
export function hostStateOnReport(state: HostStateName, pending = false): HostStateName {
  return coreStateOnReport(state, pending) as HostStateName;
}

/** A host that has been silent too long is Unreachable (maintenance, standby, fenced and left hosts keep their state). */
export function hostStateOnSilence(state: HostStateName, silentMs: number, limitMs: number): HostStateName {
  return silenceMakesUnreachable(state) && silentMs > limitMs ? 'Unreachable' : state;
}

export class HostLiveness {
  private timer: NodeJS.Timeout | undefined;
  private readonly startedAt = Date.now();

  constructor(
    private readonly state: ControllerState,
    private readonly live: LiveState,
    private readonly log: Logger,
    private readonly limitMs = UNREACHABLE_AFTER_MS,
  ) {}

  start(intervalMs = 1000): void {
    this.timer = setInterval(() => void this.tick(Date.now()).catch((err) => this.log.error({ err }, 'liveness tick failed')), intervalMs);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
  }

  async tick(now: number): Promise<void> {
    for (const host of await this.state.listHosts()) {
      // Hosts not heard from since this controller started get a grace period from its start.
      const seen = this.live.lastSeen.get(host.id) ?? this.startedAt;
      const next = hostStateOnSilence(host.data.state, now - seen, this.limitMs);
      if (next === host.data.state) continue;
      const after: HostRecord = { ...host.data, state: next, lastSeenAt: new Date(seen).toISOString() };
      this.log.warn(`host ${host.data.name} has not reported for ${Math.round((now - seen) / 1000)} s: ${next}`);
      await this.state.commit([putOp(KIND.host, host.id, after, host.rev)], hostStateEvent(host.data, after)).catch(() => undefined);
    }
  }
}
