// The testbed's long-lived processes (controller, agents): started detached
// with their output in a log file and their PID in a pidfile, so they outlive
// the `drover testbed up` that started them and `down` can stop exactly them.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export interface DaemonSpec {
  /** Entry point relative to the repo, e.g. src/agent/main.ts. */
  entry: string;
  args: string[];
  env?: Record<string, string>;
  logFile: string;
  pidFile: string;
  /** Run inside this network namespace (through `ip netns exec`, which execs: the PID is node's). */
  netns?: string;
}

export const REPO_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

/** node's argv for an entry: compiled JS from dist/ when we run compiled, else the TypeScript through tsx. */
export function nodeArgv(entry: string): string[] {
  const compiled = path.join(REPO_DIR, entry.replace(/^src\//, 'dist/').replace(/\.ts$/, '.js'));
  const runningCompiled = fileURLToPath(import.meta.url).endsWith('.js');
  const flags = ['--max-semi-space-size=1'];
  return runningCompiled && fs.existsSync(compiled) ? [...flags, compiled] : [...flags, '--import', 'tsx', path.join(REPO_DIR, entry)];
}

export function startDaemon(d: DaemonSpec): number {
  fs.mkdirSync(path.dirname(d.logFile), { recursive: true });
  const out = fs.openSync(d.logFile, 'a');
  const node = [process.execPath, ...nodeArgv(d.entry), ...d.args];
  const [cmd, ...argv] = d.netns ? ['ip', 'netns', 'exec', d.netns, ...node] : node;
  const child = spawn(cmd!, argv, { cwd: REPO_DIR, env: { ...process.env, ...d.env }, stdio: ['ignore', out, out], detached: true });
  fs.closeSync(out);
  if (!child.pid) throw new Error(`cannot start ${d.entry}`);
  child.unref();
  fs.writeFileSync(d.pidFile, `${child.pid}\n`);
  return child.pid;
}

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Waits until the log (from byte `from` on) has a line matching `ready` (returns the match) or the process dies or time runs out. */
export async function waitForLog(logFile: string, ready: RegExp, pid: number, timeoutMs: number, from = 0): Promise<RegExpMatchArray> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const text = fs.existsSync(logFile) ? fs.readFileSync(logFile).subarray(from).toString('utf8') : '';
    const m = ready.exec(text);
    if (m) return m;
    if (!isAlive(pid)) throw new Error(`process ${pid} exited before it was ready; its log (${logFile}) ends:\n${text.slice(-2000)}`);
    if (Date.now() > deadline) throw new Error(`process ${pid} not ready after ${timeoutMs} ms; its log (${logFile}) ends:\n${text.slice(-2000)}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/**
 * The PIDs of live processes with an argument that is directory `dir` or a
 * path below it (our testbed or host dir): ours, even without pidfiles.
 */
export function processesMentioning(dir: string): number[] {
  const mentions = (arg: string) => arg === dir || arg.includes(`${dir}/`);
  const mine = ancestors();
  const pids: number[] = [];
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry) || mine.has(Number(entry))) continue;
    try {
      const cmdline = fs.readFileSync(`/proc/${entry}/cmdline`, 'utf8');
      if (cmdline.split('\0').some(mentions)) pids.push(Number(entry));
    } catch {
      /* gone meanwhile */
    }
  }
  return pids;
}

/** SIGKILLs the processes and waits (bounded) until they are gone. */
export async function killAll(pids: number[], timeoutMs = 10_000): Promise<void> {
  for (const pid of pids) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      /* already gone */
    }
  }
  const deadline = Date.now() + timeoutMs;
  while (pids.some(isAlive) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
}

/** This process and its ancestors (the shell that ran us may name the dir too): never ours to kill. */
function ancestors(): Set<number> {
  const found = new Set<number>([process.pid]);
  let pid = process.ppid;
  while (pid > 1 && !found.has(pid)) {
    found.add(pid);
    try {
      // Field 4 of /proc/PID/stat is the parent; the command name (field 2) may hold spaces, so split after its ')'.
      const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
      pid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
    } catch {
      break;
    }
  }
  return found;
}
