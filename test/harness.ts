// Starts real Drover processes (controller + agents) in a temp DROVER_HOME for
// integration tests, and tears down everything it started, by PID.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, existsSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { DroverClient } from '../src/api/client.js';
import { eventually } from '../src/controller/test-support/poll.js';
import { isAlive, processesMentioning } from '../src/testbed/daemons.js';

export const REPO = new URL('..', import.meta.url).pathname.replace(/\/$/, '');
export const IMAGES_DIR = process.env.DROVER_IMAGES_DIR ?? join(homedir(), '.cache', 'drover', 'images');

export interface Proc {
  child: ChildProcess;
  pid: number;
  output: () => string;
}

/**
 * How to run one of our entry points: TypeScript through tsx by default, the
 * compiled JS of `npm run build` when DROVER_USE_DIST=1 (the benchmarks do,
 * to measure what an operator runs). A small young generation keeps the
 * daemons' resident memory down; they allocate little per request.
 */
export function nodeArgs(entry: string): string[] {
  const flags = ['--max-semi-space-size=1'];
  if (process.env.DROVER_USE_DIST === '1') return [...flags, join(REPO, entry.replace(/^src\//, 'dist/').replace(/\.ts$/, '.js'))];
  return [...flags, '--import', 'tsx', join(REPO, entry)];
}

/** Spawn one of our entry points and resolve when a stdout line matches `ready`. */
export async function startProcess(entry: string, args: string[], env: Record<string, string>, ready: RegExp, timeoutMs = 30_000): Promise<{ proc: Proc; match: RegExpMatchArray }> {
  const child = spawn(process.execPath, [...nodeArgs(entry), ...args], {
    cwd: REPO,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  const proc: Proc = { child, pid: child.pid ?? -1, output: () => out };
  const match = await new Promise<RegExpMatchArray>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${entry} not ready after ${timeoutMs} ms:\n${out.slice(-3000)}`)), timeoutMs);
    const onData = (d: Buffer) => {
      out += d.toString();
      if (out.length > 200_000) out = out.slice(-100_000);
      const m = ready.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve(m);
      }
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
    child.once('exit', (code, sig) => {
      clearTimeout(timer);
      reject(new Error(`${entry} exited (${code ?? sig}) before ready:\n${out.slice(-3000)}`));
    });
  });
  return { proc, match };
}

export function killProc(p: Proc | undefined, signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
  if (!p || p.child.exitCode !== null || p.child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    p.child.once('exit', () => resolve());
    p.child.kill(signal);
  });
}

export interface Cluster {
  home: string;
  url: string;
  token: string;
  client: DroverClient;
  controller: Proc;
  agents: Proc[];
  agentDir(i: number): string;
  startController(env?: Record<string, string>): Promise<Proc>;
  startAgent(i: number, env?: Record<string, string>): Promise<Proc>;
  /** The shared storage pool every agent of this cluster mounts. */
  sharedDir: string;
  /** The address host i's port forwards listen on (127.0.0.1 for h0, 127.0.1.<i+1> for the others: loopback, one per host). */
  forwardAddress(i: number): string;
  /** PIDs of QEMU processes under this cluster's agent dirs (from their pidfiles, only live ones). */
  qemuPids(): number[];
  stop(): Promise<void>;
}

export async function startCluster(opts: { agents?: number; controllerEnv?: Record<string, string>; agentEnv?: Record<string, string>; agentArgs?: string[]; agentArgsFor?: (i: number) => string[] } = {}): Promise<Cluster> {
  // Short path: QEMU's unix sockets live below it (108-byte limit).
  const home = mkdtempSync('/tmp/drvt-');
  const ctlDir = join(home, 'controller');
  let url = '';
  const c: Cluster = {
    home, url, token: '', client: undefined as unknown as DroverClient,
    controller: undefined as unknown as Proc,
    agents: [],
    agentDir: (i) => join(home, 'agents', `h${i}`),
    sharedDir: join(home, 'shared'),
    forwardAddress: (i) => (i === 0 ? '127.0.0.1' : `127.0.1.${i + 1}`),
    async startController(env = {}) {
      const listen = url ? url.replace('http://', '') : '127.0.0.1:0';
      mkdirSync(c.sharedDir, { recursive: true });
      const { proc, match } = await startProcess('src/controller/main.ts', ['--state-dir', ctlDir, '--listen', listen, '--shared-pool', c.sharedDir], { DROVER_HOME: home, ...env }, /controller ready url=(\S+)/);
      url = match[1] ?? '';
      c.url = url;
      c.controller = proc;
      return proc;
    },
    async startAgent(i, env = {}) {
      const joinToken = readFileSync(join(ctlDir, 'join-token'), 'utf8').trim();
      const args = ['--controller', url, '--name', `h${i}`, '--state-dir', c.agentDir(i), '--images-dir', IMAGES_DIR, '--stop-grace-ms', '5000',
        '--shared-pool', c.sharedDir, '--forward-address', c.forwardAddress(i), ...(opts.agentArgs ?? []), ...(opts.agentArgsFor?.(i) ?? [])];
      const { proc } = await startProcess('src/agent/main.ts', args, { DROVER_HOME: home, DROVER_JOIN_TOKEN: joinToken, ...opts.agentEnv, ...env }, /agent ready/);
      c.agents[i] = proc;
      return proc;
    },
    qemuPids() {
      const pids: number[] = [];
      if (!existsSync(join(home, 'agents'))) return pids;
      for (const dir of readdirSync(join(home, 'agents'), { withFileTypes: true })) {
        const vms = join(home, 'agents', dir.name, 'vms');
        if (!existsSync(vms)) continue;
        for (const vm of readdirSync(vms)) {
          const pidfile = join(vms, vm, 'qemu.pid');
          if (!existsSync(pidfile)) continue;
          const pid = Number(readFileSync(pidfile, 'utf8').trim());
          if (pid > 0 && isAlive(pid)) pids.push(pid);
        }
      }
      return pids;
    },
    async stop() {
      await Promise.all(c.agents.map((a) => killProc(a)));
      await killProc(c.controller);
      for (const pid of c.qemuPids()) killPid(pid);
      // DROVER_TEST_KEEP=1 keeps the cluster's files and the daemons' output, to read after a failure.
      if (process.env['DROVER_TEST_KEEP']) {
        const out = [['controller', c.controller], ...c.agents.map((a, i) => [`agent-h${i}`, a] as const)] as const;
        for (const [name, p] of out) if (p) writeFileSync(join(home, `${name}.log`), p.output());
        console.log(`cluster files kept in ${home}`);
      } else rmSync(home, { recursive: true, force: true });
    },
  };
  try {
    await c.startController(opts.controllerEnv);
    c.token = readFileSync(join(ctlDir, 'admin-token'), 'utf8').trim();
    c.client = new DroverClient({ baseUrl: c.url, token: c.token });
    for (let i = 0; i < (opts.agents ?? 1); i++) await c.startAgent(i);
    await waitFor(async () => (await c.client.call('listHosts')).filter((h) => h.state === 'Ready').length === (opts.agents ?? 1), 20_000, 'hosts Ready');
    await ensureTinyImage(c.client);
  } catch (err) {
    // The caller gets no cluster to stop: stop what did start (a failed agent would leave the controller behind).
    await c.stop();
    throw err;
  }
  return c;
}

/** Asks for the tiny image every time: a no-op when the cached one matches the recipe, a rebuild when the guest's files changed. */
async function ensureTinyImage(client: DroverClient): Promise<void> {
  const has = async () => (await client.call('listImages')).some((i) => i.name === 'tiny' && i.hosts.length > 0);
  const done = await client.waitJob((await client.call('buildImage', { body: { name: 'tiny' } })).id);
  if (done.state !== 'succeeded') throw new Error(`building the tiny image failed: ${JSON.stringify(done.error ?? done.state)}`);
  await waitFor(has, 15_000, 'tiny image reported');
}

export { isAlive } from '../src/testbed/daemons.js';

/**
 * Retries for the few tests that live-migrate a guest while it dirties
 * memory, under TCG only: QEMU 7.2's TCG now and then hands such a guest
 * over with corrupted memory and its kernel crashes (docs/migration.md,
 * "Known problem", measured 10-25% per migration under load). A retry must
 * pass in full, so a Drover fault still fails it; under KVM there is none.
 */
// Whatever /dev/kvm says: a /dev/kvm that opens does not mean guests run under KVM (src/qemu/kvm-check.ts).
export const TCG_DIRTY_MIGRATION_RETRY = 2;

const attempts = new Map<string, number>();
/** `base` on the first attempt of a test, `base-2`, `base-3` on retries: a retry never meets what the failed try left in the records. */
export function attemptName(base: string): string {
  const n = (attempts.get(base) ?? 0) + 1;
  attempts.set(base, n);
  return n === 1 ? base : `${base}-${n}`;
}

export function killPid(pid: number, signal: NodeJS.Signals = 'SIGKILL'): void {
  try {
    process.kill(pid, signal);
  } catch {
    /* already gone */
  }
}

/** Host `i` of the cluster dies at once (a power loss): its agent, its fencer and its QEMUs get SIGKILL. */
export async function killHost(c: Cluster, i: number): Promise<void> {
  const fencerPid = join(c.agentDir(i), 'fencer.pid');
  const fencer = existsSync(fencerPid) ? Number(readFileSync(fencerPid, 'utf8').trim()) : 0;
  await killProc(c.agents[i]);
  if (fencer > 0) killPid(fencer);
  const vms = join(c.agentDir(i), 'vms');
  for (const id of existsSync(vms) ? readdirSync(vms) : []) {
    const f = join(vms, id, 'qemu.pid');
    if (existsSync(f)) killPid(Number(readFileSync(f, 'utf8').trim()));
  }
}

/** PIDs of live QEMU processes whose command line names the VM and a dir under `root` (a cluster's home, a testbed dir). */
export function qemusOf(root: string, vmId: string): number[] {
  return processesMentioning(root).filter((pid) => {
    try {
      const cmd = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
      return cmd.includes('qemu-system') && cmd.includes(vmId);
    } catch {
      return false; // gone meanwhile
    }
  });
}

export interface QemuWatch {
  /** The most QEMUs of the VM seen at one time: the invariant says 1. */
  readonly most: number;
  /** When (ms since the watch began) each QEMU PID was first and last seen. */
  readonly seen: ReadonlyMap<number, { first: number; last: number }>;
  stop(): void;
}

/** Samples the QEMUs of a VM every `everyMs` (the fault tests' "never two running QEMU processes for one VM"). */
export function watchQemus(root: string, vmId: string, everyMs = 100): QemuWatch {
  const t0 = performance.now();
  const seen = new Map<number, { first: number; last: number }>();
  let most = 0;
  const sample = () => {
    const pids = qemusOf(root, vmId);
    const t = performance.now() - t0;
    most = Math.max(most, pids.length);
    for (const pid of pids) {
      const s = seen.get(pid);
      if (s) s.last = t;
      else seen.set(pid, { first: t, last: t });
    }
  };
  sample();
  const timer = setInterval(sample, everyMs);
  return {
    get most() {
      return most;
    },
    seen,
    stop: () => clearInterval(timer),
  };
}

/** Polls until `fn` returns something truthy (the controller tests' poller, with the argument order these tests use). */
export function waitFor<T>(fn: () => Promise<T | false | undefined | null> | T | false | undefined | null, timeoutMs: number, what: string, everyMs = 200): Promise<T> {
  return eventually(fn, what, timeoutMs, everyMs);
}

/** GET a guest's HTTP endpoint through its forwarded port; JSON when it parses. */
export async function guestGet(port: number, path: string, timeoutMs = 3000, address = '127.0.0.1'): Promise<{ status: number; text: string; json?: unknown }> {
  const res = await fetch(`http://${address}:${port}${path}`, { signal: AbortSignal.timeout(timeoutMs) });
  const text = await res.text();
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: res.status, text, json };
}

export interface GuestInfo {
  hostname: string;
  bootId: string;
  uptimeSeconds: number;
  cpusOnline: number;
  memTotalKiB: number;
}

export async function guestInfo(port: number, address = '127.0.0.1'): Promise<GuestInfo> {
  const r = await guestGet(port, '/info', 3000, address);
  if (r.status !== 200 || !r.json) throw new Error(`/info answered ${r.status}: ${r.text.slice(0, 200)}`);
  return r.json as GuestInfo;
}

/** A free TCP port on 127.0.0.1 (bind to 0, read it, release it). */
export async function freePort(): Promise<number> {
  const { createServer } = await import('node:net');
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const addr = s.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      s.close(() => resolve(port));
    });
  });
}
