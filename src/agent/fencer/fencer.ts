// The fencer's imperative shell: one small process per host (main.ts) that
// renews the host's lease in the shared pool while the agent proves it is
// alive, and SIGKILLs the QEMUs of the host's HA VMs once the lease has not
// been renewed in time for fenceAfterMs. decide.ts makes every decision;
// this file only reads the clock, does the I/O and keeps the readings.
import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import type { Logger } from 'pino';
import type { HaTiming, LeaseRecord } from '../../core/ha-timing.js';
import { isAlive } from '../../qemu/qemu-pid.js';
import { afterRenewal, decideFencer, inheritedLastGood, type FencerDecision, type RenewState } from './decide.js';
import { appendFenced, bootId, isFencer, monoNow, readInherited, readPid, writeLease, writeLocalJson } from './lease-io.js';
import { fencerFiles, JsonLines, leaseFile, line, type AgentMessage, type FenceRecord, type FencerFiles, type FencerStatus } from './protocol.js';
import { readTargets, resolveTargets, sigkill, type LiveTarget } from './targets.js';

/** A planned agent restart holds the lease for at most this long. */
const MAX_HOLD_MS = 10 * 60_000;

export interface FencerOptions {
  stateDir: string;
  sharedPoolDir: string;
  hostId: string;
  timing: HaTiming;
  log: Logger;
  /** Called once the fencer has stood down (main exits); `settled`: no lease write hangs (a hung one could block a normal exit). */
  onStandDown(settled: boolean): void;
}

/** Refused to start: another fencer runs for this state dir. */
export class FencerStartError extends Error {
  override name = 'FencerStartError';
}

const KILL_POLL_MS = 10;
const STATUS_FENCED_KEEP = 20;

export class Fencer {
  readonly incarnation = randomUUID();
  private readonly files: FencerFiles;
  private readonly lease: string;
  private readonly boot = bootId();
  private readonly startedAt = monoNow();
  private readonly tickMs: number;
  private lastPingAt: number | undefined;
  private holdUntil: number | undefined;
  private lastAttemptAt: number | undefined;
  private lastGoodAt: number | undefined;
  private goodSeq = 0;
  private seq = 0;
  private readonly inFlight = new Map<number, { startedAt: number; overdue: boolean }>();
  private writeFailing = false;
  private standingDown = false;
  private fencing = false;
  private lastState: RenewState | undefined;
  private lastValid = true;
  private readonly fenced: FenceRecord[] = [];
  private readonly refusedLogged = new Set<string>();
  /** Pids SIGKILLed and recorded that were still alive after killMarginMs (stuck in the kernel): not recorded again. */
  private readonly stuck = new Set<number>();
  private readonly server: net.Server;
  private readonly clients = new Set<net.Socket>();
  private timer: NodeJS.Timeout | null = null;

  constructor(private readonly o: FencerOptions) {
    this.files = fencerFiles(o.stateDir);
    this.lease = leaseFile(o.sharedPoolDir, o.hostId);
    this.tickMs = Math.max(10, Math.min(o.timing.agentPingMs, o.timing.renewEveryMs, o.timing.killMarginMs) / 4);
    this.server = net.createServer((sock) => this.onClient(sock));
  }

  /** Takes over the deadline of the fencer before (same boot), listens, writes its pidfile, starts ticking. */
  async start(): Promise<void> {
    const other = readPid(this.files.pid);
    if (other !== null && other !== process.pid && isAlive(other) && isFencer(other)) throw new FencerStartError(`another fencer (pid ${other}) already runs for ${this.o.stateDir}`);
    if (await answers(this.files.sock)) throw new FencerStartError(`another process listens on ${this.files.sock}`);
    this.lastGoodAt = inheritedLastGood(readInherited(this.files.state), this.boot, this.startedAt);
    fs.rmSync(this.files.sock, { force: true });
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(this.files.sock, () => resolve());
    });
    fs.chmodSync(this.files.sock, 0o600);
    writeLocalJson(this.files.pid, process.pid);
    const inherited = this.lastGoodAt === undefined ? undefined : Math.round(this.startedAt - this.lastGoodAt);
    this.o.log.info({ incarnation: this.incarnation, lease: this.lease, timing: this.o.timing, ...(inherited !== undefined ? { inheritedRenewalAgeMs: inherited } : {}) }, 'fencer ready; it renews the lease once the agent pings');
    this.timer = setInterval(() => this.tick(), this.tickMs);
    this.tick();
  }

  status(d: FencerDecision = this.decide()): FencerStatus {
    return {
      pid: process.pid,
      incarnation: this.incarnation,
      hostId: this.o.hostId,
      ioTimeoutMs: this.o.timing.ioTimeoutMs,
      seq: this.goodSeq,
      state: d.state,
      leaseFresh: d.leaseFresh,
      leaseValid: d.leaseValid,
      lastRenewalAgeMs: d.renewalAgeMs === undefined ? null : Math.round(d.renewalAgeMs),
      fenced: this.fenced.slice(-STATUS_FENCED_KEEP),
    };
  }

  /** Stops renewing and never fences again; removes the pidfile and socket, then onStandDown. */
  standDown(why: string): void {
    if (this.standingDown) return;
    this.standingDown = true;
    if (this.timer) clearInterval(this.timer);
    this.o.log.info(`${why}: standing down (no more renewals, no fencing)`);
    for (const sock of this.clients) sock.end(line({ t: 'bye' }));
    this.server.close();
    // The socket path and pidfile are ours only while the pidfile names us (else another fencer took over).
    if (readPid(this.files.pid) === process.pid) {
      fs.rmSync(this.files.sock, { force: true });
      fs.rmSync(this.files.pid, { force: true });
    }
    void this.writesSettled(this.o.timing.ioTimeoutMs).then((settled) => this.o.onStandDown(settled));
  }

  private async writesSettled(timeoutMs: number): Promise<boolean> {
    for (const until = monoNow() + timeoutMs; this.inFlight.size > 0 && monoNow() < until; ) await new Promise((r) => setTimeout(r, 10));
    return this.inFlight.size === 0;
  }

  private decide(now = monoNow()): FencerDecision {
    return decideFencer({ now, startedAt: this.startedAt, writesInFlight: this.inFlight.size, standingDown: this.standingDown, ...defined({ lastPingAt: this.lastPingAt, lastAttemptAt: this.lastAttemptAt, lastGoodAt: this.lastGoodAt, holdUntil: this.holdUntil }) }, this.o.timing);
  }

  private tick(): void {
    try {
      // Its state dir removed (host purged, test torn down): nothing is left to guard.
      if (!fs.existsSync(this.o.stateDir)) return this.standDown(`the state dir ${this.o.stateDir} is gone`);
      // Two fencers started at once for one state dir: the one the pidfile names guards, the other goes.
      const owner = readPid(this.files.pid);
      if (owner !== null && owner !== process.pid && isAlive(owner) && isFencer(owner)) return this.standDown(`another fencer (pid ${owner}) serves ${this.o.stateDir}`);
      const now = monoNow();
      const d = this.decide(now);
      this.noteTransitions(d, now);
      if (d.renew) this.renew(now);
      if (d.fence) void this.fence(now);
    } catch (err) {
      this.o.log.error({ err }, `fencer tick failed: ${(err as Error).message}`);
    }
  }

  private noteTransitions(d: FencerDecision, now: number): void {
    if (d.state !== this.lastState) {
      const msg: Record<RenewState, string> = {
        renewing: 'the agent pings: renewing the lease',
        'no-agent': 'no agent has pinged yet: not renewing',
        'agent-stalled': `the agent has not pinged for ${this.o.timing.agentStallMs} ms: renewals stop (fence at the deadline unless it comes back)`,
        'writes-stuck': 'lease writes hang: no more renewals until they settle',
        'standing-down': 'standing down',
      };
      const level = d.state === 'renewing' || d.state === 'no-agent' ? 'info' : 'warn';
      this.o.log[level]({ state: d.state, fenceInMs: Math.round(d.fenceAt - now) }, msg[d.state]);
      this.lastState = d.state;
    }
    if (d.leaseValid !== this.lastValid) {
      if (!d.leaseValid) this.o.log.error({ sinceRenewalMs: Math.round(now - (this.lastGoodAt ?? this.startedAt)) }, `the lease was not renewed in time for ${this.o.timing.fenceAfterMs} ms: fencing the QEMUs of HA VMs`);
      else this.o.log.info('the lease is renewed again: HA VMs may run');
      this.lastValid = d.leaseValid;
    }
    for (const [seq, w] of this.inFlight) {
      if (w.overdue || now - w.startedAt <= this.o.timing.ioTimeoutMs) continue;
      w.overdue = true;
      this.o.log.warn({ seq }, `lease renewal ${seq} did not finish within ${this.o.timing.ioTimeoutMs} ms: it counts as failed`);
    }
  }

  private renew(startedAt: number): void {
    const seq = ++this.seq;
    this.lastAttemptAt = startedAt;
    this.inFlight.set(seq, { startedAt, overdue: false });
    const record: LeaseRecord = { hostId: this.o.hostId, incarnation: this.incarnation, seq, writtenAt: new Date().toISOString() };
    writeLease(this.lease, record).then(
      () => this.renewed(seq, startedAt, true),
      (err: Error) => this.renewed(seq, startedAt, false, err),
    );
  }

  private renewed(seq: number, startedAt: number, ok: boolean, err?: Error): void {
    this.inFlight.delete(seq);
    if (this.standingDown) return;
    const before = this.lastGoodAt;
    this.lastGoodAt = afterRenewal(before, { startedAt, settledAt: monoNow(), ok }, this.o.timing);
    if (this.lastGoodAt !== before) {
      this.goodSeq = seq;
      writeLocalJson(this.files.state, { bootId: this.boot, lastGoodAt: this.lastGoodAt, incarnation: this.incarnation, hostId: this.o.hostId });
    }
    if (err && !this.writeFailing) this.o.log.warn({ err, seq }, `cannot renew the lease ${this.lease}: ${err.message}`);
    if (ok && this.writeFailing) this.o.log.info({ seq }, 'lease writes succeed again');
    this.writeFailing = !ok;
  }

  /** Kills the targets that are provably QEMUs of HA VMs, waits for them (bounded by killMarginMs), records it. */
  private async fence(now: number): Promise<void> {
    if (this.fencing) return;
    this.fencing = true;
    try {
      const { kill, refused } = resolveTargets(readTargets(this.files.targets));
      for (const r of refused) {
        const key = `${r.pid}:${r.why}`;
        if (!this.refusedLogged.has(key)) this.o.log.warn(r, `not killing pid ${r.pid} of VM ${r.vmId}: ${r.why}`);
        this.refusedLogged.add(key);
      }
      for (const pid of this.stuck) if (!isAlive(pid)) this.stuck.delete(pid);
      const fresh = kill.filter((t) => !this.stuck.has(t.pid));
      if (fresh.length === 0) return;
      const sinceRenewalMs = Math.round(now - (this.lastGoodAt ?? this.startedAt));
      const records = await this.killAll(fresh, sinceRenewalMs);
      for (const r of records) if (!r.gone) this.stuck.add(r.pid);
      this.fenced.push(...records);
      appendFenced(this.files.fenced, records);
    } finally {
      this.fencing = false;
    }
  }

  private async killAll(targets: LiveTarget[], sinceRenewalMs: number): Promise<FenceRecord[]> {
    const t0 = monoNow();
    const at = new Date().toISOString();
    for (const t of targets) sigkill(t.pid);
    this.o.log.error({ targets, sinceRenewalMs }, `fenced: SIGKILL sent to ${targets.length} QEMU(s) of HA VMs`);
    const goneAt = new Map<number, number>();
    while (goneAt.size < targets.length && monoNow() - t0 < this.o.timing.killMarginMs) {
      await new Promise((r) => setTimeout(r, KILL_POLL_MS));
      for (const t of targets) if (!goneAt.has(t.pid) && !isAlive(t.pid)) goneAt.set(t.pid, monoNow());
    }
    return targets.map((t) => {
      const gone = goneAt.has(t.pid) || !isAlive(t.pid);
      const waitedMs = Math.round((goneAt.get(t.pid) ?? monoNow()) - t0);
      const rec: FenceRecord = { vmId: t.vmId, pid: t.pid, at, sinceRenewalMs, gone, waitedMs };
      if (gone) this.o.log.error(rec, `fenced VM ${t.vmId}: its QEMU ${t.pid} is gone after ${waitedMs} ms`);
      else this.o.log.fatal(rec, `fencing VM ${t.vmId}: its QEMU ${t.pid} is still there ${waitedMs} ms after SIGKILL (killMarginMs ${this.o.timing.killMarginMs})`);
      return rec;
    });
  }

  private onClient(sock: net.Socket): void {
    this.clients.add(sock);
    this.o.log.info({ clients: this.clients.size }, 'an agent connected');
    const lines = new JsonLines<AgentMessage>((m) => this.onMessage(sock, m));
    sock.on('data', (chunk) => lines.push(chunk));
    sock.on('error', () => {});
    sock.on('close', () => {
      this.clients.delete(sock);
      this.o.log.info({ clients: this.clients.size }, 'an agent disconnected');
    });
  }

  private onMessage(sock: net.Socket, m: AgentMessage): void {
    if (m.t === 'stand-down') return this.standDown('the agent stops');
    if (m.t === 'hold' && !this.standingDown && this.lastPingAt !== undefined && Number.isFinite(m.ms) && m.ms > 0) {
      this.holdUntil = monoNow() + Math.min(m.ms, MAX_HOLD_MS);
      this.o.log.warn({ holdMs: m.ms }, 'the agent stops with HA VMs running: renewing for it until it is back or the hold ends');
      return;
    }
    if (m.t !== 'ping' || this.standingDown) return;
    this.lastPingAt = monoNow();
    this.tick();
    if (sock.writable) sock.write(line({ t: 'status', status: this.status() }));
  }
}

/** Does something accept connections on this unix socket? */
function answers(sockPath: string): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect(sockPath);
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

function defined<T extends Record<string, unknown>>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}
