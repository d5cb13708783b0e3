// A fake host agent for the controller's unit tests: it speaks the real
// agent protocol over HTTP (join, long-poll assignments, reports) and serves
// the agent's own small API (ports check, serial log, images, console), but
// runs no QEMU. Tests drive it step by step, or let it converge by itself.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { WebSocketServer } from 'ws';
import type { AssignmentsResponse, ImageProgressLine, ImageReport, VmAssignment, VmReport } from '../../api/agent-protocol.js';
import { AGENT_PATHS } from '../../api/agent-protocol.js';
import type { BalloonAck, BalloonDecisionsReport } from '../../api/balloon.js';
import { DroverClient } from '../../api/client.js';
import type { HostInventory } from '../../api/resources.js';

export const TINY: ImageReport = { name: 'tiny', kind: 'kernel', source: 'built', kernelVersion: '6.1.0', sizeBytes: 20_000_000, createdAt: '2024-01-01T00:00:00.000Z' };
export const INVENTORY: HostInventory = { hostname: 'fake', cpus: 2, memoryMiB: 4096, kvm: false, qemuVersion: '7.2.0', freeDiskBytes: 10 * 1024 ** 3, agentVersion: 'fake' };

export interface AgentCall {
  method: string;
  path: string;
  authorization: string | undefined;
  body: string;
}

export class FakeAgent {
  hostId = '';
  credential = '';
  url = '';
  images: ImageReport[] = [TINY];
  busyPorts = new Set<number>();
  serialText = 'DROVER-READY\n';
  imageLines: ImageProgressLine[] = [];
  readonly calls: AgentCall[] = [];
  /** VM id → state to report instead of what auto-convergence would. */
  readonly override = new Map<string, Partial<VmReport>>();
  /** What it reports as its inventory (join and reports). */
  inventory: HostInventory = INVENTORY;
  /** Balloon decisions every report carries (as a real agent's queue would), and the controller's last answer to them. */
  balloon: BalloonDecisionsReport | undefined;
  balloonAck: BalloonAck | undefined;
  private server: Server | undefined;
  private wss: WebSocketServer | undefined;
  private converging = false;
  private lastVms: VmReport[] = [];
  /** Reports go out one at a time, in order (heartbeats and convergence share it). */
  private sending: Promise<void> = Promise.resolve();
  private heartbeatTimer: NodeJS.Timeout | undefined;

  constructor(public controllerUrl: string) {}

  async start(): Promise<void> {
    this.server = createServer((req, res) => void this.serve(req, res));
    this.wss = new WebSocketServer({ noServer: true });
    this.server.on('upgrade', (req, socket, head) => this.upgrade(req, socket, head));
    await new Promise<void>((r) => this.server!.listen(0, '127.0.0.1', () => r()));
    const addr = this.server.address();
    this.url = `http://127.0.0.1:${typeof addr === 'object' && addr ? addr.port : 0}`;
  }

  async stop(): Promise<void> {
    this.converging = false;
    this.stopHeartbeat();
    for (const ws of this.wss?.clients ?? []) ws.terminate();
    this.wss?.close();
    await new Promise<void>((r) => (this.server ? this.server.close(() => r()) : r()));
  }

  client(): DroverClient {
    return new DroverClient({ baseUrl: this.controllerUrl, token: this.credential, timeoutMs: 10_000 });
  }

  async join(joinToken: string, name = 'h1'): Promise<void> {
    const anon = new DroverClient({ baseUrl: this.controllerUrl, token: '' });
    const r = await anon.call('agentJoin', { body: { joinToken, name, agentUrl: this.url, inventory: this.inventory } });
    this.hostId = r.hostId;
    this.credential = r.credential;
  }

  assignments(since?: number, waitMs?: number): Promise<AssignmentsResponse> {
    return this.client().call('agentAssignments', { query: { since, waitMs } });
  }

  report(vms: VmReport[] = []): Promise<void> {
    this.lastVms = vms;
    const body = { inventory: this.inventory, vms, images: this.images, ...(this.balloon ? { balloon: this.balloon } : {}) };
    const sent = this.sending.then(() => this.client().call('agentReport', { body }));
    this.sending = sent.then(() => undefined, () => undefined);
    return sent.then((r) => {
      this.balloonAck = r.balloonAck;
    });
  }

  /** Reports what it reported last every `everyMs` (the heartbeat HA failover judges silence by). */
  heartbeat(everyMs: number): void {
    this.stopHeartbeat();
    this.heartbeatTimer = setInterval(() => void this.report(this.lastVms).catch(() => undefined), everyMs);
  }

  stopHeartbeat(): void {
    clearInterval(this.heartbeatTimer);
    this.heartbeatTimer = undefined;
  }

  /** As if the host died: no more reports, no more polls. */
  silence(): void {
    this.stopConverging();
    this.stopHeartbeat();
  }

  /** Converges like a well-behaved agent: long-polls, then reports what it "did" for every assignment. */
  converge(): void {
    this.converging = true;
    void (async () => {
      let since: number | undefined;
      while (this.converging) {
        try {
          const a = await this.assignments(since, 1000);
          since = a.revision;
          if (this.converging) await this.report(a.vms.flatMap((v) => this.observe(v)));
        } catch {
          await new Promise((r) => setTimeout(r, 100));
        }
      }
    })();
  }

  stopConverging(): void {
    this.converging = false;
  }

  /** What a real agent would report after carrying out an assignment ([] = it is gone). */
  observe(a: VmAssignment): VmReport[] {
    if (a.power === 'absent' || a.power === 'released') return [];
    const state = a.power === 'stopped' ? 'stopped' : a.power;
    const running = state !== 'stopped';
    return [{ ...vmReport(a, state, running ? { pid: 4242, stats: { cpuSeconds: 1, rssBytes: 1024 } } : {}), ...this.override.get(a.id) }];
  }

  private async serve(req: IncomingMessage, res: ServerResponse): Promise<void> {
    let body = '';
    for await (const chunk of req) body += String(chunk);
    const path = (req.url ?? '').split('?')[0] ?? '';
    this.calls.push({ method: req.method ?? '', path, authorization: req.headers.authorization, body });
    if (req.headers.authorization !== `Bearer ${this.credential}`) return send(res, 401, { error: { code: 'unauthorized', message: 'bad credential' } });
    if (path === AGENT_PATHS.checkPorts) {
      const ports = (JSON.parse(body) as { ports: { hostPort: number }[] }).ports;
      return send(res, 200, { busy: ports.map((p) => p.hostPort).filter((p) => this.busyPorts.has(p)) });
    }
    if (path.endsWith('/serial')) return send(res, 200, { text: this.serialText });
    if (path === AGENT_PATHS.buildImage || path === AGENT_PATHS.importImage) {
      res.writeHead(200, { 'content-type': 'application/x-ndjson' });
      for (const line of this.imageLines) {
        // Like a real agent, it holds (and reports) the image once it is made.
        if (line.type === 'done') this.images = [...this.images.filter((i) => i.name !== line.image.name), line.image];
        res.write(`${JSON.stringify(line)}\n`);
      }
      return void res.end();
    }
    send(res, 404, { error: { code: 'not_found', message: path } });
  }

  private upgrade(req: IncomingMessage, socket: import('node:stream').Duplex, head: Buffer): void {
    const url = new URL(req.url ?? '', 'http://x');
    if (url.searchParams.get('token') !== this.credential || !url.pathname.endsWith('/console')) return void socket.destroy();
    this.calls.push({ method: 'WS', path: url.pathname, authorization: undefined, body: '' });
    // An echo console: whatever comes in goes back, with the binary flag kept.
    this.wss!.handleUpgrade(req, socket, head, (ws) => ws.on('message', (data, isBinary) => ws.send(data, { binary: isBinary })));
  }
}

export function vmReport(a: VmAssignment, state: VmReport['state'], extra: Partial<VmReport> = {}): VmReport {
  return {
    id: a.id,
    state,
    epoch: a.epoch,
    rebootSeq: a.rebootSeq,
    volumes: a.spec.volumes.map((v) => ({ id: v.id, path: `/pool/${a.id}/${v.id}.qcow2`, virtualSizeBytes: v.sizeBytes, actualSizeBytes: 196_608 })),
    ...extra,
  };
}

function send(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
}
