// Starting a QEMU process that outlives us, and finding it again after an
// agent restart. QEMU runs detached in its own session with its output in
// RUNDIR/qemu.log, so a crash or restart of the agent leaves guests running.
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import { buildQemuArgs } from './args.js';
import { isQemuFor, readPidfile } from './qemu-pid.js';
import { QmpClient } from './qmp-client.js';
import { checkRunDir, runPaths, type RunPaths } from './run-dir.js';
import type { HostCapsResolved, QemuVmSpec } from './vm-spec.js';

export { isAlive, isQemuFor, killQemu, readPidfile, waitForExit } from './qemu-pid.js';

const DEFAULT_START_TIMEOUT_MS = 30_000;
const CONNECT_RETRY_MS = 20;

export class QemuStartError extends Error {
  override name = 'QemuStartError';
  constructor(
    message: string,
    readonly stderrTail: string,
    readonly exitCode?: number | null,
    readonly signal?: string | null,
  ) {
    super(message);
  }
}

/** A QEMU already runs for this runDir: starting a second one would share its disks. */
export class QemuAlreadyRunningError extends Error {
  override name = 'QemuAlreadyRunningError';
  constructor(
    readonly pid: number,
    readonly runDir: string,
  ) {
    super(`QEMU ${pid} is already running for ${runDir}; attach to it or stop it first`);
  }
}

interface Exit {
  code: number | null;
  signal: string | null;
  error?: Error;
}

export async function startQemu(
  spec: QemuVmSpec,
  caps: HostCapsResolved,
  opts: { timeoutMs?: number } = {},
): Promise<{ pid: number; qmp: QmpClient; child: ChildProcess }> {
  const deadline = Date.now() + (opts.timeoutMs ?? DEFAULT_START_TIMEOUT_MS);
  const args = buildQemuArgs(spec, caps);
  const files = prepareRunDir(spec.runDir);
  const logOffset = appendLogHeader(files.log, caps.qemuBinary, args);
  const child = spawnDetached(caps.qemuBinary, args, files.log);
  const exit = watchExit(child);
  try {
    const qmp = await connectWhileAlive(files.qmp, exit, deadline);
    for (const sock of [files.qmp, files.serial]) fs.chmodSync(sock, 0o600);
    return { pid: child.pid as number, qmp, child };
  } catch (err) {
    if (child.pid !== undefined && child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    throw startError(err, files.log, logOffset, exit.info);
  }
}

/** Finds the QEMU of runDir from its pidfile and connects to its QMP; null when none runs. */
export async function attachQemu(runDir: string, opts: { timeoutMs?: number } = {}): Promise<{ pid: number; qmp: QmpClient } | null> {
  const pid = readPidfile(runDir);
  if (pid === null || !isQemuFor(pid, runDir)) return null;
  try {
    const qmp = await QmpClient.connect(runPaths(runDir).qmp, { timeoutMs: opts.timeoutMs ?? 10_000 });
    return { pid, qmp };
  } catch (err) {
    if (!isQemuFor(pid, runDir)) return null; // it exited while we connected
    throw err;
  }
}

/** The last bytes QEMU wrote to RUNDIR/qemu.log ('' when there is none). */
export function readStderrTail(runDir: string, bytes = 4000): string {
  return readLogTail(runPaths(runDir).log, 0, bytes);
}

function prepareRunDir(runDir: string): RunPaths {
  checkRunDir(runDir);
  fs.mkdirSync(runDir, { recursive: true, mode: 0o700 });
  fs.chmodSync(runDir, 0o700);
  const running = readPidfile(runDir);
  if (running !== null && isQemuFor(running, runDir)) throw new QemuAlreadyRunningError(running, runDir);
  const files = runPaths(runDir);
  for (const stale of [files.qmp, files.serial, files.pid]) fs.rmSync(stale, { force: true });
  return files;
}

const LOG_KEEP_BYTES = 256 * 1024;

/** Appends a marker with the command line; returns where this run's output starts. */
function appendLogHeader(log: string, binary: string, args: string[]): number {
  rotateLog(log);
  const quoted = args.map((a) => (/^[\w,.:=/@+-]+$/.test(a) ? a : `'${a.replaceAll("'", `'\\''`)}'`));
  fs.appendFileSync(log, `--- drover start ${new Date().toISOString()}: ${binary} ${quoted.join(' ')}\n`, { mode: 0o600 });
  return fs.statSync(log).size;
}

/** Bounds qemu.log across restarts: past 1 MiB, keep its last 256 KiB. */
function rotateLog(log: string): void {
  let size: number;
  try {
    size = fs.statSync(log).size;
  } catch {
    return;
  }
  if (size <= 4 * LOG_KEEP_BYTES) return;
  const fd = fs.openSync(log, 'r');
  const tail = Buffer.alloc(LOG_KEEP_BYTES);
  try {
    fs.readSync(fd, tail, 0, LOG_KEEP_BYTES, size - LOG_KEEP_BYTES);
  } finally {
    fs.closeSync(fd);
  }
  fs.writeFileSync(log, tail, { mode: 0o600 });
}

function spawnDetached(binary: string, args: string[], log: string): ChildProcess {
  const fd = fs.openSync(log, 'a', 0o600);
  try {
    // Own session (setsid), no stdin, output to the log: nothing ties QEMU to our lifetime.
    const child = spawn(binary, args, { detached: true, stdio: ['ignore', fd, fd] });
    child.unref();
    return child;
  } finally {
    fs.closeSync(fd);
  }
}

function watchExit(child: ChildProcess): { info: Exit | null; exited: Promise<void> } {
  const state: { info: Exit | null; exited: Promise<void> } = { info: null, exited: Promise.resolve() };
  state.exited = new Promise((resolve) => {
    child.once('exit', (code, signal) => {
      state.info = { code, signal };
      resolve();
    });
    child.once('error', (error) => {
      state.info = { code: null, signal: null, error };
      resolve();
    });
  });
  return state;
}

/** Retries connecting every 20 ms until QMP answers, QEMU exits, or the deadline passes. */
async function connectWhileAlive(qmpPath: string, exit: { info: Exit | null; exited: Promise<void> }, deadline: number): Promise<QmpClient> {
  let lastError: unknown;
  while (!exit.info) {
    const left = deadline - Date.now();
    if (left <= 0) throw new Error(`QMP did not answer in time (last error: ${describe(lastError)})`);
    try {
      return await QmpClient.connect(qmpPath, { timeoutMs: left });
    } catch (err) {
      lastError = err;
    }
    await Promise.race([exit.exited, new Promise((resolve) => setTimeout(resolve, CONNECT_RETRY_MS))]);
  }
  throw new Error('QEMU exited during start');
}

function startError(err: unknown, log: string, logOffset: number, exit: Exit | null): QemuStartError {
  const tail = readLogTail(log, logOffset, 4000);
  const lastLine = tail.trim().split('\n').pop() ?? '';
  const how = exit?.error
    ? `could not run QEMU: ${exit.error.message}`
    : exit
      ? `QEMU exited during start (${exit.signal ? `signal ${exit.signal}` : `code ${exit.code}`})`
      : describe(err);
  return new QemuStartError(lastLine ? `${how}: ${lastLine}` : how, tail, exit?.code, exit?.signal);
}

/** Up to `bytes` from the end of log, not reading before `from`; starts at a line boundary when cut. */
function readLogTail(log: string, from: number, bytes: number): string {
  let fd: number;
  try {
    fd = fs.openSync(log, 'r');
  } catch {
    return '';
  }
  try {
    const size = fs.fstatSync(fd).size;
    const start = Math.max(from, size - bytes);
    const buf = Buffer.alloc(Math.max(0, size - start));
    fs.readSync(fd, buf, 0, buf.length, start);
    const text = buf.toString('utf8');
    return start > from && text.includes('\n') ? text.slice(text.indexOf('\n') + 1) : text;
  } finally {
    fs.closeSync(fd);
  }
}

function describe(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
