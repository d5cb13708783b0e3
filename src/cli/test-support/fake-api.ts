// A small fake of the controller's HTTP API for the CLI's tests: it answers
// the paths of src/api/routes.ts (and the WebSocket paths) with handlers the
// test sets, and records every request so tests can count them.
import { createServer, STATUS_CODES, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import { afterAll, beforeAll, beforeEach } from 'vitest';
import { WebSocketServer, type WebSocket } from 'ws';
import { routes, WS_PATHS, type RouteName } from '../../api/routes.js';

export interface FakeRequest {
  route: RouteName;
  method: string;
  path: string;
  params: Record<string, string>;
  query: Record<string, string>;
  body: unknown;
  authorization: string | undefined;
}

export interface FakeReply {
  status: number;
  body: unknown;
}

export type FakeHandler = (req: FakeRequest) => unknown;
export type WsHandler = (ws: WebSocket, params: Record<string, string>) => void;
/** Answers the upgrade request with an HTTP error instead of accepting it. */
export type WsRefusal = (params: Record<string, string>) => FakeReply | undefined;

/** Make a handler answer with an error status and the API's error body. */
export function reply(status: number, body: unknown): FakeReply & { [REPLY]: true } {
  return { status, body, [REPLY]: true };
}
const REPLY = Symbol('reply');

function isReply(v: unknown): v is FakeReply {
  return typeof v === 'object' && v !== null && REPLY in v;
}

function matcher(path: string): RegExp {
  return new RegExp(`^${path.replace(/:(\w+)/g, '(?<$1>[^/]+)')}$`);
}

export class FakeApi {
  readonly requests: FakeRequest[] = [];
  readonly handlers: Partial<Record<RouteName, FakeHandler>> = {};
  readonly wsHandlers: Partial<Record<keyof typeof WS_PATHS, { handler: WsHandler; refuse?: WsRefusal }>> = {};
  readonly wsRequests: Array<{ path: string; params: Record<string, string> }> = [];
  readonly token = 'test-token';
  private readonly server: Server = createServer((req, res) => void this.handle(req, res));
  private readonly wss = new WebSocketServer({ noServer: true });
  url = '';

  async start(): Promise<this> {
    this.server.on('upgrade', (req, socket, head) => this.upgrade(req, socket, head));
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    return this;
  }

  async stop(): Promise<void> {
    for (const ws of this.wss.clients) ws.terminate();
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  on(route: RouteName, handler: FakeHandler): this {
    this.handlers[route] = handler;
    return this;
  }

  onWs(path: keyof typeof WS_PATHS, handler: WsHandler, refuse?: WsRefusal): this {
    this.wsHandlers[path] = { handler, refuse };
    return this;
  }

  count(route?: RouteName): number {
    return route ? this.requests.filter((r) => r.route === route).length : this.requests.length;
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', this.url);
    const found = this.findRoute(req.method ?? 'GET', url.pathname);
    if (!found) return send(res, 404, { error: { code: 'not_found', message: `no route ${req.method} ${url.pathname}` } });
    const text = await readBody(req);
    const request: FakeRequest = {
      route: found.name, method: req.method ?? 'GET', path: url.pathname, params: found.params,
      query: Object.fromEntries(url.searchParams), body: text ? JSON.parse(text) : undefined, authorization: req.headers.authorization,
    };
    this.requests.push(request);
    if (req.headers.authorization !== `Bearer ${this.token}`) return send(res, 401, { error: { code: 'unauthorized', message: 'bad token' } });
    const handler = this.handlers[found.name];
    if (!handler) return send(res, 500, { error: { code: 'internal', message: `fake has no handler for ${found.name}` } });
    const out = await handler(request);
    if (isReply(out)) return send(res, out.status, out.body);
    send(res, 200, out);
  }

  private findRoute(method: string, path: string): { name: RouteName; params: Record<string, string> } | undefined {
    for (const [name, def] of Object.entries(routes) as Array<[RouteName, (typeof routes)[RouteName]]>) {
      const m = def.method === method ? matcher(def.path).exec(path) : null;
      if (m) return { name, params: decode(m.groups) };
    }
    return undefined;
  }

  private upgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    const url = new URL(req.url ?? '/', this.url);
    for (const [name, path] of Object.entries(WS_PATHS) as Array<[keyof typeof WS_PATHS, string]>) {
      const m = matcher(path).exec(url.pathname);
      const entry = this.wsHandlers[name];
      if (!m || !entry) continue;
      const params = decode(m.groups);
      this.wsRequests.push({ path: url.pathname, params });
      if (url.searchParams.get('token') !== this.token) {
        return refuseUpgrade(socket, 401, { error: { code: 'unauthorized', message: 'bad token' } });
      }
      const refusal = entry.refuse?.(params);
      if (refusal) return refuseUpgrade(socket, refusal.status, refusal.body);
      this.wss.handleUpgrade(req, socket, head, (ws) => entry.handler(ws, params));
      return;
    }
    refuseUpgrade(socket, 404, { error: { code: 'not_found', message: `VM not found (${url.pathname})` } });
  }
}

function refuseUpgrade(socket: Duplex, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  socket.end(`HTTP/1.1 ${status} ${STATUS_CODES[status] ?? ''}\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(text)}\r\nconnection: close\r\n\r\n${text}`);
}

function decode(groups: Record<string, string> | undefined): Record<string, string> {
  return Object.fromEntries(Object.entries(groups ?? {}).map(([k, v]) => [k, decodeURIComponent(v)]));
}

function send(res: ServerResponse, status: number, body: unknown): void {
  const text = body === undefined ? '' : JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json' }).end(text);
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    let text = '';
    req.on('data', (c: Buffer) => (text += c.toString()));
    req.on('end', () => resolve(text));
    req.on('error', reject);
  });
}

/**
 * Starts a FakeApi before the tests of the calling file, forgets its
 * recorded requests before each test, and stops it after; `use` receives it
 * and the environment that points the CLI at it.
 */
export function useFakeApi(use: (api: FakeApi, env: Record<string, string>) => void): void {
  let api: FakeApi | undefined;
  beforeAll(async () => {
    api = await new FakeApi().start();
    use(api, { DROVER_URL: api.url, DROVER_TOKEN: api.token });
  });
  beforeEach(() => {
    if (api) api.requests.length = 0;
  });
  afterAll(() => api?.stop());
}
