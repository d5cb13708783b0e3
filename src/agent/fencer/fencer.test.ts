// The real fencer process against a temp dir, with T = 200 ms (renew every
// 200, agent stall 600, fence 800 after the last timely renewal) and `sleep`
// processes standing in for QEMU. Every process spawned here is killed by pid
// after each test. No timing is asserted: only the order of what happens.
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import pino from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { haTiming, type LeaseRecord } from '../../core/ha-timing.js';
import { isAlive } from '../../qemu/qemu-pid.js';
import { FencerLink, fencerCommand } from './client.js';
import { readFenced, readPid } from './lease-io.js';
import { fencerFiles, JsonLines, leaseFile, line, type AgentMessage, type FenceTarget, type FencerMessage, type FencerStatus } from './protocol.js';
import { procStartTicks, writeTargets } from './targets.js';

const T = 200;
const timing = haTiming(T);
const HOST = 'host-a';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function until<X>(what: string, probe: () => X | undefined | false | Promise<X | undefined | false>, timeoutMs = 10_000): Promise<X> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(20);
  }
}

// Each test starts node with tsx once or twice (seconds on a busy machine).
describe('fencer process', { timeout: 45_000 }, () => {
  let dir: string;
  let stateDir: string;
  let pool: string;
  let files: ReturnType<typeof fencerFiles>;
  const spawned: ChildProcess[] = [];
  const extraPids: number[] = [];
  const clients: Array<{ close(): void }> = [];

  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'drover-fencer-'));
    stateDir = path.join(dir, 'state');
    pool = path.join(dir, 'pool');
    fs.mkdirSync(stateDir, { mode: 0o700 });
    fs.mkdirSync(pool);
    files = fencerFiles(stateDir);
  });

  afterEach(async () => {
    for (const c of clients.splice(0)) c.close();
    const fromPidfile = readPid(files.pid);
    const pids = [...spawned.splice(0).map((c) => c.pid), ...extraPids.splice(0), ...(fromPidfile ? [fromPidfile] : [])];
    for (const pid of pids) if (pid !== undefined && isAlive(pid)) process.kill(pid, 'SIGKILL');
    await until('spawned processes gone', () => pids.every((p) => p === undefined || !isAlive(p)), 5000);
    fs.rmSync(dir, { recursive: true, force: true });
  });

  /** The fencer with T = 200 ms; `out()` is its stdout and stderr so far. */
  function startFencer(extra: string[] = []): { child: ChildProcess; out: () => string; exited: Promise<number | null> } {
    const child = spawn(process.execPath, [...fencerCommand(), '--state-dir', stateDir, '--shared-pool', pool, '--host-id', HOST, '--io-timeout', String(T), ...extra], { stdio: ['ignore', 'pipe', 'pipe'] });
    spawned.push(child);
    let out = '';
    child.stdout?.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr?.on('data', (d: Buffer) => (out += d.toString()));
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    return { child, out: () => out, exited };
  }

  async function ready(f: { out: () => string }): Promise<void> {
    await until('the fencer to be ready', () => f.out().includes('fencer ready'), 15_000);
  }

  /** A stand-in agent: connects and pings every agentPingMs. */
  async function agentConn(): Promise<{ statuses: FencerStatus[]; bye: () => boolean; stopPinging(): void; send(m: AgentMessage): void; close(): void }> {
    const sock = await until('the fencer socket', () => new Promise<net.Socket | false>((resolve) => {
      const s = net.connect(files.sock);
      s.once('connect', () => resolve(s));
      s.once('error', () => resolve(false));
    }));
    sock.on('error', () => {});
    const statuses: FencerStatus[] = [];
    let bye = false;
    const lines = new JsonLines<FencerMessage>((m) => (m.t === 'status' ? statuses.push(m.status) : (bye = true)));
    sock.on('data', (c) => lines.push(c));
    const ping = () => sock.writable && sock.write(line({ t: 'ping' }));
    const timer = setInterval(ping, timing.agentPingMs);
    ping();
    const conn = {
      statuses,
      bye: () => bye,
      stopPinging: () => clearInterval(timer),
      send: (m: AgentMessage) => void sock.write(line(m)),
      close: () => {
        clearInterval(timer);
        sock.destroy();
      },
    };
    clients.push(conn);
    return conn;
  }

  function sleeper(): { pid: number; startTimeTicks: number } {
    const child = spawn('sleep', ['1000'], { stdio: 'ignore' });
    spawned.push(child);
    const pid = child.pid as number;
    return { pid, startTimeTicks: procStartTicks(pid) as number };
  }

  function lease(): LeaseRecord | undefined {
    try {
      return JSON.parse(fs.readFileSync(leaseFile(pool, HOST), 'utf8')) as LeaseRecord;
    } catch {
      return undefined;
    }
  }

  it('renews only once an agent pings, with a growing seq, also across a reconnect; a second fencer is refused', async () => {
    const f = startFencer();
    await ready(f);
    const dup = startFencer();
    expect(await dup.exited).toBe(2);
    expect(dup.out()).toContain(`another fencer (pid ${f.child.pid}) already runs for ${stateDir}`);
    await sleep(3 * T);
    expect(lease()).toBeUndefined(); // no agent yet: no renewal
    const first = await agentConn();
    const r1 = await until('a first renewal', () => lease());
    const r2 = await until('a later renewal', () => (lease()?.seq ?? 0) >= r1.seq + 3 && lease());
    expect(r2).toMatchObject({ hostId: HOST, incarnation: r1.incarnation });
    expect(new Date(r2.writtenAt).getTime()).toBeGreaterThanOrEqual(new Date(r1.writtenAt).getTime());
    expect(first.statuses.at(-1)).toMatchObject({ hostId: HOST, ioTimeoutMs: T, leaseFresh: true, state: 'renewing' });
    // A restarted agent connects again: the same fencer keeps renewing.
    first.close();
    const again = await agentConn();
    await until('renewals after the reconnect', () => (lease()?.seq ?? 0) >= r2.seq + 3);
    expect(again.statuses.at(-1)).toMatchObject({ pid: f.child.pid, incarnation: r1.incarnation });
  });

  it('stops renewing when pings stop, then kills the targets at its deadline (never a reused pid), and any that start later', async () => {
    const a = sleeper();
    const reused = sleeper();
    const targets: FenceTarget[] = [{ vmId: 'vm-a', ...a }, { vmId: 'vm-reused', pid: reused.pid, startTimeTicks: reused.startTimeTicks + 1 }];
    writeTargets(files.targets, targets);
    const f = startFencer();
    await ready(f);
    const agent = await agentConn();
    await until('renewals', () => (lease()?.seq ?? 0) >= 4);
    expect(isAlive(a.pid)).toBe(true);
    expect(fs.existsSync(files.fenced)).toBe(false);

    agent.stopPinging();
    // Watch the lease and the target: renewals must have stopped before the target dies.
    const seen: Array<{ seq: number; alive: boolean }> = [];
    await until('the target killed', () => {
      seen.push({ seq: lease()?.seq ?? 0, alive: isAlive(a.pid) });
      return !seen.at(-1)?.alive;
    });
    const death = seen.findIndex((s) => !s.alive);
    const lastChange = seen.findLastIndex((s, i) => i > 0 && s.seq !== seen[i - 1]?.seq);
    expect(lastChange).toBeLessThan(death);
    expect(seen.slice(death).every((s) => s.seq === seen[death]?.seq)).toBe(true);
    await sleep(2 * T);
    expect(lease()?.seq).toBe(seen[death]?.seq);

    const fenced = await until('fenced.json', () => readFenced(files.fenced).length > 0 && readFenced(files.fenced));
    expect(fenced).toEqual([expect.objectContaining({ vmId: 'vm-a', pid: a.pid, gone: true })]);
    expect(fenced[0]?.sinceRenewalMs).toBeGreaterThanOrEqual(timing.fenceAfterMs);
    expect(isAlive(reused.pid)).toBe(true);
    expect(f.out()).toMatch(/start time \d+ is not the recorded \d+ \(pid reused\)/);
    const log = f.out();
    expect(log.indexOf('the agent has not pinged')).toBeLessThan(log.indexOf('fenced: SIGKILL'));

    // A QEMU that starts while the lease is not valid is killed too.
    const later = sleeper();
    writeTargets(files.targets, [...targets, { vmId: 'vm-later', ...later }]);
    await until('the later target killed', () => !isAlive(later.pid));
    expect(isAlive(reused.pid)).toBe(true);
  });

  /** A stand-in for a QEMU the agent has not recorded yet: its command line names its run dir's pidfile, which names it. */
  function unrecordedQemu(runDir: string): number {
    fs.mkdirSync(runDir, { recursive: true });
    const pidfile = path.join(runDir, 'qemu.pid');
    const child = spawn('bash', ['-c', 'exec -a qemu-system-standin bash -c "read" bash "$0"', pidfile], { stdio: ['pipe', 'ignore', 'ignore'] });
    spawned.push(child);
    fs.writeFileSync(pidfile, `${child.pid}\n`);
    return child.pid as number;
  }

  it('fences while the agent pings when the lease cannot be written, also a QEMU found only through its run dir', async () => {
    fs.writeFileSync(path.join(pool, 'leases'), 'not a directory');
    const a = sleeper();
    const runDir = path.join(stateDir, 'vms', 'vm-b');
    const b = unrecordedQemu(runDir);
    writeTargets(files.targets, [{ vmId: 'vm-a', ...a }, { vmId: 'vm-b', runDir }, { vmId: 'vm-c', runDir: path.join(stateDir, 'vms', 'vm-c') }]);
    const f = startFencer();
    await ready(f);
    const agent = await agentConn();
    await until('the targets killed', () => !isAlive(a.pid) && !isAlive(b));
    const fenced = await until('fenced.json', () => readFenced(files.fenced).length === 2 && readFenced(files.fenced));
    expect(fenced.map((r) => [r.vmId, r.pid]).sort()).toEqual([['vm-a', a.pid], ['vm-b', b]]);
    expect(f.out()).toContain('cannot renew the lease');
    const status = await until('a status after the deadline', () => agent.statuses.find((s) => !s.leaseValid));
    expect(status).toMatchObject({ state: 'renewing', leaseFresh: false, seq: 0 });
  });

  it('holds the lease for a planned agent stop, then stops renewing and fences when no agent came back', async () => {
    const a = sleeper();
    writeTargets(files.targets, [{ vmId: 'vm-a', ...a }]);
    const f = startFencer();
    await ready(f);
    const agent = await agentConn();
    await until('renewals', () => (lease()?.seq ?? 0) >= 2);
    const holdMs = 3 * timing.agentStallMs;
    agent.send({ t: 'hold', ms: holdMs });
    agent.close();
    // Well past agentStallMs without a ping, the lease still moves and the target lives.
    const seqBefore = lease()?.seq ?? 0;
    await sleep(2 * timing.agentStallMs);
    expect(lease()?.seq ?? 0).toBeGreaterThan(seqBefore);
    expect(isAlive(a.pid)).toBe(true);
    // After the hold the fencer fences as for a stalled agent.
    await until('the target killed after the hold', () => !isAlive(a.pid), holdMs + timing.fenceAfterMs + 10 * T);
    expect(f.out()).toContain('renewing for it until it is back');
  });

  it('stands down on request: exits without killing anything', async () => {
    const a = sleeper();
    writeTargets(files.targets, [{ vmId: 'vm-a', ...a }]);
    const f = startFencer();
    await ready(f);
    const agent = await agentConn();
    await until('renewals', () => (lease()?.seq ?? 0) >= 2);
    agent.send({ t: 'stand-down' });
    expect(await f.exited).toBe(0);
    expect(agent.bye()).toBe(true);
    expect(fs.existsSync(files.sock)).toBe(false);
    expect(fs.existsSync(files.pid)).toBe(false);
    await sleep(timing.fenceAfterMs + timing.killMarginMs);
    expect(isAlive(a.pid)).toBe(true);
    expect(fs.existsSync(files.fenced)).toBe(false);
    expect(f.out()).toContain('standing down');
  });

  it('a new fencer takes over the deadline of the one before it on this boot', async () => {
    const first = startFencer();
    await ready(first);
    const agent = await agentConn();
    await until('renewals', () => (lease()?.seq ?? 0) >= 2);
    first.child.kill('SIGKILL');
    await first.exited;
    agent.close();
    const a = sleeper();
    writeTargets(files.targets, [{ vmId: 'vm-a', ...a }]);
    await sleep(timing.fenceAfterMs + T);
    // The deadline of the killed fencer has passed: its successor fences at once, pinged or not.
    const second = startFencer();
    await ready(second);
    await agentConn();
    await until('the target killed', () => !isAlive(a.pid));
    const fenced = await until('fenced.json', () => readFenced(files.fenced)[0]);
    expect(fenced.sinceRenewalMs).toBeGreaterThanOrEqual(timing.fenceAfterMs);
  });

  it('refuses a timing that breaks a margin, with the reason', async () => {
    const short = startFencer(['--io-timeout', '50']);
    const early = startFencer(['--timing', JSON.stringify({ expireAfterMs: 1000 })]);
    expect(await Promise.all([short.exited, early.exited])).toEqual([2, 2]);
    expect(short.out()).toContain('ioTimeoutMs must be at least 100 (got 50)');
    expect(early.out()).toMatch(/refusing to start[\s\S]*expireAfterMs \(1000\) must be at least/);
    expect(fs.existsSync(files.sock)).toBe(false);
  });

  it('the agent side starts the fencer once, re-attaches to it after a restart, and stands it down', async () => {
    const log = pino({ level: 'silent' });
    const opts = { stateDir, sharedPoolDir: pool, hostId: HOST, timing, log };
    const first = await FencerLink.open(opts);
    clients.push(first);
    const pid = first.fencerPid as number;
    extraPids.push(pid);
    await until('a fresh lease', () => first.leaseFresh);
    first.close(); // the agent dies; the fencer stays
    expect(isAlive(pid)).toBe(true);
    const second = await FencerLink.open(opts);
    clients.push(second);
    expect(second.fencerPid).toBe(pid);
    await until('a fresh lease after the re-attach', () => second.leaseFresh);
    // The fencer dies: the agent starts a new one.
    process.kill(pid, 'SIGKILL');
    const next = await until('a new fencer', () => second.status?.status.pid !== pid && second.leaseFresh && second.fencerPid);
    extraPids.push(next);
    expect(await second.standDown()).toBe(true);
    expect(isAlive(next)).toBe(false);
    expect(fs.readFileSync(files.log, 'utf8')).toContain('standing down');
  });
});
