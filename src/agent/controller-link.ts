// The agent's calls to the controller (join, long-poll assignments, report),
// with plain fetch and the paths and types declared in src/api.
import type { AssignmentsResponse, HostReport, JoinRequest, JoinResponse } from '../api/agent-protocol.js';
import { routes, type RouteName, type RouteResponse } from '../api/routes.js';

type AgentRoute = Extract<RouteName, 'agentJoin' | 'agentAssignments' | 'agentReport'>;

/** The controller answered with an error status. */
export class ControllerError extends Error {
  override name = 'ControllerError';
  constructor(
    readonly status: number,
    message: string,
    readonly field?: string,
  ) {
    super(message);
  }
}

/** Worth retrying: the controller is down or overloaded, not refusing us. */
export function isTransient(err: unknown): boolean {
  return !(err instanceof ControllerError) || err.status >= 500 || err.status === 429;
}

export function isUnauthorized(err: unknown): boolean {
  return err instanceof ControllerError && err.status === 401;
}

export class ControllerLink {
  credential = '';

  constructor(readonly baseUrl: string) {}

  join(body: JoinRequest): Promise<JoinResponse> {
    return this.call<JoinResponse>('agentJoin', { body, timeoutMs: 15_000 });
  }

  /** Answers at once when `since` is not current, else within about waitMs. */
  assignments(since: number | undefined, waitMs: number, signal?: AbortSignal): Promise<AssignmentsResponse> {
    const query = { ...(since === undefined ? {} : { since: String(since) }), waitMs: String(waitMs) };
    return this.call<AssignmentsResponse>('agentAssignments', { query, timeoutMs: waitMs + 15_000, signal });
  }

  /** The answer acknowledges the balloon decisions the report carried. */
  async report(report: HostReport): Promise<RouteResponse<'agentReport'>> {
    return (await this.call<RouteResponse<'agentReport'> | undefined>('agentReport', { body: report, timeoutMs: 10_000 })) ?? { ok: true };
  }

  private async call<T>(name: AgentRoute, o: { query?: Record<string, string>; body?: unknown; timeoutMs: number; signal?: AbortSignal }): Promise<T> {
    const def = routes[name];
    const url = new URL(def.path, this.baseUrl);
    for (const [k, v] of Object.entries(o.query ?? {})) url.searchParams.set(k, v);
    const signals = [AbortSignal.timeout(o.timeoutMs), ...(o.signal ? [o.signal] : [])];
    const res = await fetch(url, {
      method: def.method,
      headers: {
        ...(this.credential ? { authorization: `Bearer ${this.credential}` } : {}),
        ...(o.body !== undefined ? { 'content-type': 'application/json' } : {}),
      },
      body: o.body !== undefined ? JSON.stringify(o.body) : undefined,
      signal: AbortSignal.any(signals),
    });
    const text = await res.text();
    if (!res.ok) throw errorOf(res.status, text);
    return (text ? JSON.parse(text) : undefined) as T;
  }
}

function errorOf(status: number, text: string): ControllerError {
  try {
    const e = (JSON.parse(text) as { error?: { message?: string; field?: string } }).error;
    if (e?.message) return new ControllerError(status, e.message, e.field);
  } catch {
    // not JSON
  }
  return new ControllerError(status, `HTTP ${status}${text ? `: ${text.slice(0, 200)}` : ''}`);
}

export interface Backoff {
  next(): number;
  reset(): void;
}

/** Exponential delays from minMs doubling to maxMs. */
export function backoff(minMs = 500, maxMs = 10_000): Backoff {
  let delay = minMs;
  return {
    next() {
      const d = delay;
      delay = Math.min(maxMs, delay * 2);
      return d;
    },
    reset() {
      delay = minMs;
    },
  };
}

/** Retries fn while it fails transiently (controller down); other errors are thrown. */
export async function retryTransient<T>(fn: () => Promise<T>, onRetry: (err: unknown, delayMs: number) => void, signal?: AbortSignal, delays = backoff()): Promise<T> {
  for (;;) {
    try {
      return await fn();
    } catch (err) {
      if (!isTransient(err) || signal?.aborted) throw err;
      const d = delays.next();
      onRetry(err, d);
      await sleep(d, signal);
    }
  }
}

export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    function done(): void {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    }
    signal?.addEventListener('abort', done, { once: true });
  });
}
