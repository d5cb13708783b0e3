// Finding a QEMU process again by its pidfile, and making sure a pid still
// belongs to the QEMU of a given run directory before signalling it (pids
// are reused).
import fs from 'node:fs';
import path from 'node:path';
import { runPaths } from './run-dir.js';

/** The pid QEMU wrote into RUNDIR/qemu.pid, or null. */
export function readPidfile(runDir: string): number | null {
  try {
    const pid = Number.parseInt(fs.readFileSync(runPaths(runDir).pid, 'utf8').trim(), 10);
    return Number.isInteger(pid) && pid > 0 ? pid : null;
  } catch {
    return null;
  }
}

/** Alive and not a zombie. */
export function isAlive(pid: number): boolean {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The state follows the parenthesised command name, which may itself contain ')'.
    const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
    return state !== 'Z' && state !== 'X';
  } catch {
    return false;
  }
}

/** True when pid is a live QEMU started with this runDir's pidfile. */
export function isQemuFor(pid: number, runDir: string): boolean {
  if (!isAlive(pid)) return false;
  let argv: string[];
  try {
    argv = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
  } catch {
    return false;
  }
  const pidfile = runPaths(path.resolve(runDir)).pid;
  return path.basename(argv[0] ?? '').includes('qemu') && argv.includes(pidfile);
}

/** Signals the QEMU of runDir only if pid still is that QEMU. Returns whether it signalled. */
export function killQemu(pid: number, runDir: string, signal: NodeJS.Signals = 'SIGKILL'): boolean {
  if (!isQemuFor(pid, runDir)) return false;
  try {
    process.kill(pid, signal);
    return true;
  } catch {
    return false;
  }
}

/** Polls until pid is gone (works for processes that are not our children). */
export async function waitForExit(pid: number, timeoutMs: number, pollMs = 20): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (isAlive(pid)) {
    if (Date.now() >= deadline) return false;
    await new Promise((resolve) => setTimeout(resolve, pollMs));
  }
  return true;
}
