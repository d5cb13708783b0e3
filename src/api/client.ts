// The typed API client used by the CLI, the web console, tests and benches.
import { ApiError, ErrorCode } from './errors.js';
import { fillPath, routes, WS_PATHS, type RouteBody, type RouteName, type RouteParams, type RouteQuery, type RouteResponse } from './routes.js';

export interface ClientOptions {
  baseUrl: string;
  token: string;
  timeoutMs?: number;
}

type Args<N extends RouteName> = (RouteParams<N> extends undefined ? unknown : { params: RouteParams<N> }) &
  (RouteQuery<N> extends undefined ? unknown : { query?: RouteQuery<N> }) &
  (RouteBody<N> extends undefined ? unknown : { body: RouteBody<N> });

export class DroverClient {
  constructor(readonly opts: ClientOptions) {}

  async call<N extends RouteName>(name: N, args: Args<N> = {} as Args<N>): Promise<RouteResponse<N>> {
    const def = routes[name];
    const a = args as { params?: Record<string, string>; query?: Record<string, unknown>; body?: unknown };
    const url = new URL(fillPath(def.path, a.params), this.opts.baseUrl);
    for (const [k, v] of Object.entries(a.query ?? {})) if (v !== undefined) url.searchParams.set(k, String(v));
    let res: Response;
    try {
      res = await fetch(url, {
        method: def.method,
        headers: { authorization: `Bearer ${this.opts.token}`, ...(a.body !== undefined ? { 'content-type': 'application/json' } : {}) },
        body: a.body !== undefined ? JSON.stringify(a.body) : undefined,
        signal: AbortSignal.timeout(this.opts.timeoutMs ?? 70_000),
      });
    } catch (err) {
      throw new ApiError(ErrorCode.unavailable, `cannot reach the Drover controller at ${this.opts.baseUrl}: ${(err as Error).message}. Is it running? (npm run up)`);
    }
    const text = await res.text();
    const body: unknown = text ? JSON.parse(text) : undefined;
    if (!res.ok) throw ApiError.fromBody(res.status, body);
    return body as RouteResponse<N>;
  }

  /** ws:// URL of a WebSocket endpoint, with the token in the query (browsers cannot set headers). */
  wsUrl(path: keyof typeof WS_PATHS, params?: Record<string, string>): string {
    const url = new URL(fillPath(WS_PATHS[path], params), this.opts.baseUrl);
    url.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:';
    url.searchParams.set('token', this.opts.token);
    return url.toString();
  }

  /** Poll a job until it ends; `onUpdate` sees every change. Throws ApiError when the job failed. */
  async waitJob(id: string, onUpdate?: (job: RouteResponse<'getJob'>) => void, pollMs = 200): Promise<RouteResponse<'getJob'>> {
    let last = '';
    for (;;) {
      const job = await this.call('getJob', { params: { id } });
      const key = JSON.stringify([job.state, job.steps.map((s) => s.state), job.progress]);
      if (key !== last) onUpdate?.(job);
      last = key;
      if (job.state !== 'running') {
        if (job.state === 'succeeded') return job;
        const e = job.error;
        throw new ApiError((e?.code as ErrorCode) ?? ErrorCode.internal, e?.message ?? `job ${job.kind} ${job.state}`, e?.field);
      }
      await new Promise((r) => setTimeout(r, pollMs));
    }
  }
}
