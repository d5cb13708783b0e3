// The agent's side of the fencer: find the fencer that runs for this state
// dir (its socket answers, its pidfile names it) or start one, detached like
// QEMU so that it outlives the agent; then ping it every agentPingMs from the
// agent's own event loop (a stalled agent stops pinging, which is the point)
// and keep its latest status. A normal agent stop tells it to stand down.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Logger } from 'pino';
import type { HaTiming } from '../../core/ha-timing.js';
import { isAlive } from '../../qemu/qemu-pid.js';
import { isFencer, monoNow, readPid } from './lease-io.js';
import { fencerFiles, JsonLines, line, type FencerFiles, type FencerMessage, type FencerStatus } from './protocol.js';

export interface FencerLinkOptions {
  stateDir: string;
  sharedPoolDir: string;
  hostId: string;
  timing: HaTiming;
  log: Logger;
  /** node's argv for the fencer (default: this build's fencer/main, through tsx when we run TypeScript). */
  command?: string[];
  onStatus?(s: FencerStatus): void;
}

export class FencerStartFailed extends Error {
  override name = 'FencerStartFailed';
}

const HANDSHAKE_MS = 2000;
const SPAWN_WAIT_MS = 30_000;
const LOG_ROTATE_BYTES = 4 * 1024 * 1024;

export class FencerLink {
  private sock: net.Socket | null = null;
  private latest: { status: FencerStatus; at: number } | undefined;
  private pinger: NodeJS.Timeout | null = null;
  private reconnecting = false;
  private closed = false;
  private readonly files: FencerFiles;

  private constructor(private readonly o: FencerLinkOptions) {
    this.files = fencerFiles(o.stateDir);
  }

  /** Re-attaches to the fencer of an earlier agent run, or starts one; then pings it. */
  static async open(o: FencerLinkOptions): Promise<FencerLink> {
    const link = new FencerLink(o);
    await link.attachOrSpawn();
    link.pinger = setInterval(() => link.ping(), o.timing.agentPingMs);
    link.ping();
    return link;
  }

  /** The fencer's latest status and how old it is (ms), if any came. */
  get status(): { status: FencerStatus; ageMs: number } | undefined {
    return this.latest && { status: this.latest.status, ageMs: monoNow() - this.latest.at };
  }

  /**
   * The fencer said the lease is fresh, and the renewal it knew of, aged by
   * the time since it said so, is no older than a fresh one may be plus one
   * ping (a little lag of the agent's loop does not refuse HA VMs).
   */
  get leaseFresh(): boolean {
    const s = this.status;
    const t = this.o.timing;
    return s !== undefined && s.status.leaseFresh && s.status.lastRenewalAgeMs !== null && s.status.lastRenewalAgeMs + s.ageMs < t.renewEveryMs + t.ioTimeoutMs + t.agentPingMs;
  }

  get fencerPid(): number | undefined {
    return this.latest?.status.pid ?? readPid(this.files.pid) ?? undefined;
  }

  /** Tells the fencer to stand down (no fencing) and waits until it is gone. */
  async standDown(timeoutMs = 5000): Promise<boolean> {
    const pid = this.fencerPid;
    this.stopPinging();
    const sock = this.sock ?? (await connect(this.files.sock));
    sock?.write(line({ t: 'stand-down' }));
    const gone = pid === undefined ? true : await waitGone(pid, timeoutMs);
    sock?.destroy();
    this.sock = null;
    if (!gone) this.o.log.error({ pid }, `the fencer did not stand down within ${timeoutMs} ms`);
    return gone;
  }

  /**
   * A planned agent stop while HA VMs run here: the fencer keeps renewing for
   * `ms` without pings (the VMs stay guarded and keep their lease), then, if no
   * agent came back, stops renewing and fences at its deadline.
   */
  async hold(ms: number): Promise<void> {
    this.stopPinging();
    const sock = this.sock ?? (await connect(this.files.sock));
    await new Promise<void>((resolve) => (sock ? sock.end(line({ t: 'hold', ms }), () => resolve()) : resolve()));
    this.sock = null;
  }

  /** Stops pinging and lets go of the fencer, which keeps running (it stops renewing after agentStallMs). */
  close(): void {
    this.stopPinging();
    this.sock?.destroy();
    this.sock = null;
  }

  private stopPinging(): void {
    this.closed = true;
    if (this.pinger) clearInterval(this.pinger);
    this.pinger = null;
  }

  private ping(): void {
    if (this.closed) return;
    if (this.sock && !this.sock.destroyed) {
      this.sock.write(line({ t: 'ping' }));
      return;
    }
    if (this.reconnecting) return;
    this.reconnecting = true;
    this.attachOrSpawn()
      .catch((err: Error) => this.o.log.error({ err }, `cannot reach or start the fencer: ${err.message}`))
      .finally(() => (this.reconnecting = false));
  }

  private async attachOrSpawn(): Promise<void> {
    const sock = await connect(this.files.sock);
    if (sock) {
      const status = await this.handshake(sock);
      if (status && status.hostId === this.o.hostId && status.ioTimeoutMs === this.o.timing.ioTimeoutMs) {
        this.o.log.info({ pid: status.pid, incarnation: status.incarnation }, `attached to the running fencer (pid ${status.pid})`);
        return this.adopt(sock);
      }
      sock.destroy();
      await this.replace(status);
    } else {
      await this.clearStale();
    }
    await this.spawnFencer();
  }

  /** Sends a ping and waits for the status that answers it (undefined: no answer). */
  private handshake(sock: net.Socket): Promise<FencerStatus | undefined> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => done(undefined), HANDSHAKE_MS);
      const lines = new JsonLines<FencerMessage>((m) => m.t === 'status' && done(m.status));
      const onData = (c: Buffer) => lines.push(c);
      const done = (s: FencerStatus | undefined) => {
        clearTimeout(timer);
        sock.off('data', onData);
        if (s) this.latest = { status: s, at: monoNow() };
        resolve(s);
      };
      sock.on('data', onData);
      sock.once('close', () => done(undefined));
      sock.write(line({ t: 'ping' }));
    });
  }

  private adopt(sock: net.Socket): void {
    this.sock = sock;
    const lines = new JsonLines<FencerMessage>((m) => {
      if (m.t !== 'status') return;
      this.latest = { status: m.status, at: monoNow() };
      this.o.onStatus?.(m.status);
    });
    sock.on('data', (c) => lines.push(c));
    sock.on('error', () => {});
    sock.once('close', () => {
      if (this.sock === sock) this.sock = null;
      if (!this.closed) this.o.log.warn('lost the connection to the fencer; reconnecting');
    });
  }

  /** A fencer for another host or timing, or one that does not answer: it goes, a new one comes. */
  private async replace(status: FencerStatus | undefined): Promise<void> {
    if (status) {
      this.o.log.warn({ running: { hostId: status.hostId, ioTimeoutMs: status.ioTimeoutMs } }, `the running fencer (pid ${status.pid}) serves another host id or I/O timeout; replacing it`);
      const sock = await connect(this.files.sock);
      sock?.end(line({ t: 'stand-down' }));
      if (!(await waitGone(status.pid, HANDSHAKE_MS))) throw new FencerStartFailed(`the old fencer (pid ${status.pid}) does not stand down`);
      return;
    }
    await this.clearStale();
  }

  /** A fencer process that does not answer on its socket is stuck: it is killed (the next one takes its deadline over). */
  private async clearStale(): Promise<void> {
    const pid = readPid(this.files.pid);
    if (pid === null || !isAlive(pid) || !isFencer(pid)) return;
    // It may be starting: give it a moment to listen.
    for (const until = monoNow() + HANDSHAKE_MS; monoNow() < until; await sleep(50)) {
      const sock = await connect(this.files.sock);
      if (sock && (await this.handshake(sock))) {
        sock.destroy();
        return;
      }
      sock?.destroy();
    }
    this.o.log.error({ pid }, `the fencer (pid ${pid}) does not answer on ${this.files.sock}; killing it`);
    process.kill(pid, 'SIGKILL');
    await waitGone(pid, HANDSHAKE_MS);
  }

  private async spawnFencer(): Promise<void> {
    const { timing: t } = this.o;
    const args = [...(this.o.command ?? fencerCommand()), '--state-dir', this.o.stateDir, '--shared-pool', this.o.sharedPoolDir, '--host-id', this.o.hostId, '--io-timeout', String(t.ioTimeoutMs)];
    rotate(this.files.log);
    const out = fs.openSync(this.files.log, 'a', 0o600);
    const from = fs.fstatSync(out).size;
    let exited: string | undefined;
    try {
      // Own session, no stdin, output to its log: nothing ties it to the agent's lifetime.
      const child = spawn(process.execPath, args, { cwd: this.o.stateDir, detached: true, stdio: ['ignore', out, out], env: process.env });
      child.once('exit', (code, signal) => (exited = `exited (${code ?? signal})`));
      child.once('error', (err) => (exited = `failed: ${err.message}`));
      child.unref();
      this.o.log.info({ pid: child.pid }, 'started the fencer');
    } finally {
      fs.closeSync(out);
    }
    for (const until = monoNow() + SPAWN_WAIT_MS; monoNow() < until; await sleep(50)) {
      if (exited) throw new FencerStartFailed(`the fencer ${exited}: ${logTail(this.files.log, from)}`);
      const sock = await connect(this.files.sock);
      if (sock && (await this.handshake(sock))) return this.adopt(sock);
      sock?.destroy();
    }
    throw new FencerStartFailed(`the fencer did not listen on ${this.files.sock} within ${SPAWN_WAIT_MS} ms: ${logTail(this.files.log, from)}`);
  }
}

/** node's argv for fencer/main: the compiled JS beside us, or the TypeScript through tsx. */
export function fencerCommand(): string[] {
  const here = fileURLToPath(import.meta.url);
  const flags = ['--max-semi-space-size=1'];
  if (here.endsWith('.js')) return [...flags, path.join(path.dirname(here), 'main.js')];
  return [...flags, '--import', createRequire(import.meta.url).resolve('tsx'), path.join(path.dirname(here), 'main.ts')];
}

function connect(sockPath: string): Promise<net.Socket | null> {
  return new Promise((resolve) => {
    const s = net.connect(sockPath);
    s.once('connect', () => {
      s.off('error', onError);
      s.on('error', () => {});
      resolve(s);
    });
    const onError = () => resolve(null);
    s.once('error', onError);
  });
}

async function waitGone(pid: number, timeoutMs: number): Promise<boolean> {
  for (const until = monoNow() + timeoutMs; isAlive(pid); await sleep(20)) if (monoNow() >= until) return false;
  return true;
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

function rotate(log: string): void {
  try {
    if (fs.statSync(log).size > LOG_ROTATE_BYTES) fs.renameSync(log, `${log}.1`);
  } catch {
    // no log yet
  }
}

function logTail(log: string, from: number): string {
  try {
    const text = fs.readFileSync(log).subarray(from).toString('utf8').trim();
    return text.length > 1500 ? `...${text.slice(-1500)}` : text || '(no output)';
  } catch {
    return '(no log)';
  }
}
