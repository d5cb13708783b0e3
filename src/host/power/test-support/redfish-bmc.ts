// A small Redfish BMC for tests, on 127.0.0.1 (HTTP, or HTTPS with a
// certificate the test gives): just what RedfishDriver uses. Basic auth is
// checked on every request; /redfish/v1/Systems lists the systems; each
// system has a PowerState and a ComputerSystem.Reset action (ForceOff, On).
// Tests can make resets fail with a status, delay answers, and read every
// request it got.
import { createServer as createHttpServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';

export interface BmcRequest {
  method: string;
  path: string;
  body: string;
  /** The Basic credentials were right. */
  authorized: boolean;
}

export interface FakeBmcOptions {
  username?: string;
  password?: string;
  /** Ids of its systems (default one: "1"). */
  systems?: string[];
  /** Serve HTTPS with this key and certificate. */
  tls?: { key: string; cert: string };
}

export class FakeRedfishBmc {
  readonly username: string;
  readonly password: string;
  readonly requests: BmcRequest[] = [];
  /** System id → its PowerState. */
  readonly power = new Map<string, string>();
  /** Answer resets with this HTTP status (and a Redfish error body) instead of doing them. */
  refuseResets: number | undefined;
  /** Hold every answer this long (ms). */
  delayMs = 0;
  url = '';
  private readonly server: Server;
  private readonly scheme: 'http' | 'https';

  constructor(opts: FakeBmcOptions = {}) {
    this.username = opts.username ?? 'admin';
    this.password = opts.password ?? 'bmc-secret';
    for (const id of opts.systems ?? ['1']) this.power.set(id, 'On');
    const handler = (req: IncomingMessage, res: ServerResponse) => void this.handle(req, res);
    this.server = opts.tls ? createHttpsServer(opts.tls, handler) : createHttpServer(handler);
    this.scheme = opts.tls ? 'https' : 'http';
  }

  async start(): Promise<this> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    this.url = `${this.scheme}://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    return this;
  }

  async stop(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  /** The resets it was asked for (whether or not it did them), in order. */
  resets(): string[] {
    return this.requests.filter((r) => r.method === 'POST' && r.authorized).map((r) => (JSON.parse(r.body) as { ResetType: string }).ResetType);
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    let body = '';
    for await (const chunk of req) body += String(chunk);
    const path = (req.url ?? '').split('?')[0] ?? '';
    const expected = `Basic ${Buffer.from(`${this.username}:${this.password}`).toString('base64')}`;
    const authorized = req.headers.authorization === expected;
    this.requests.push({ method: req.method ?? '', path, body, authorized });
    if (this.delayMs) await new Promise((r) => setTimeout(r, this.delayMs));
    if (!authorized) return send(res, 401, redfishError('Base.1.0.NoValidSession', 'There is no valid session established with the implementation.'));
    if (req.method === 'GET' && path === '/redfish/v1/Systems') {
      const members = [...this.power.keys()].map((id) => ({ '@odata.id': `/redfish/v1/Systems/${id}` }));
      return send(res, 200, { '@odata.id': '/redfish/v1/Systems', Members: members, 'Members@odata.count': members.length });
    }
    const system = /^\/redfish\/v1\/Systems\/([^/]+)$/.exec(path)?.[1];
    if (req.method === 'GET' && system && this.power.has(system)) return send(res, 200, this.systemBody(system));
    const resetOf = /^\/redfish\/v1\/Systems\/([^/]+)\/Actions\/ComputerSystem\.Reset$/.exec(path)?.[1];
    if (req.method === 'POST' && resetOf && this.power.has(resetOf)) return this.reset(resetOf, body, res);
    send(res, 404, redfishError('Base.1.0.ResourceMissingAtURI', `no resource at ${path}`));
  }

  private systemBody(id: string): unknown {
    return {
      '@odata.id': `/redfish/v1/Systems/${id}`, Id: id, PowerState: this.power.get(id),
      Actions: { '#ComputerSystem.Reset': { target: `/redfish/v1/Systems/${id}/Actions/ComputerSystem.Reset`, 'ResetType@Redfish.AllowableValues': ['On', 'ForceOff'] } },
    };
  }

  private reset(id: string, body: string, res: ServerResponse): void {
    if (this.refuseResets) return send(res, this.refuseResets, redfishError('Base.1.0.InternalError', 'The BMC could not complete the reset.'));
    const type = (JSON.parse(body || '{}') as { ResetType?: string }).ResetType;
    if (type !== 'ForceOff' && type !== 'On') return send(res, 400, redfishError('Base.1.0.ActionParameterValueError', `ResetType ${String(type)} is not supported`));
    this.power.set(id, type === 'ForceOff' ? 'Off' : 'On');
    send(res, 204, undefined);
  }
}

function redfishError(code: string, message: string): unknown {
  return { error: { code, message: 'A general error has occurred.', '@Message.ExtendedInfo': [{ MessageId: code, Message: message }] } };
}

function send(res: ServerResponse, status: number, body: unknown): void {
  if (body === undefined) return void res.writeHead(status).end();
  res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
}
