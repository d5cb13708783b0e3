// The fence targets: the QEMUs of this host's HA VMs. The agent writes the
// list (fence-targets.json, in its local state dir); the fencer reads it
// when it must fence and kills only processes it can prove are those QEMUs:
// the pid's start time matches the one recorded, or the pid is the QEMU of
// the VM's run dir (its pidfile names it and its command line holds it).
import fs from 'node:fs';
import { isAlive, isQemuFor, readPidfile } from '../../qemu/qemu-pid.js';
import type { FenceTarget } from './protocol.js';

/** starttime (field 22) of a /proc/PID/stat line; the command name (field 2) may hold spaces and ')'. */
export function parseStartTicks(stat: string): number | null {
  const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // rest[0] is field 3 (state), so field 22 is rest[19].
  const ticks = Number(rest[19]);
  return Number.isInteger(ticks) && ticks >= 0 ? ticks : null;
}

/** The start time of pid in clock ticks since boot, or null when it is gone. */
export function procStartTicks(pid: number): number | null {
  try {
    return parseStartTicks(fs.readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return null;
  }
}

/** Reads fence-targets.json; a missing or unreadable file is an empty list, bad entries are dropped. */
export function readTargets(file: string): FenceTarget[] {
  let data: unknown;
  try {
    data = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch {
    return [];
  }
  return Array.isArray(data) ? data.filter(isTarget) : [];
}

function isTarget(x: unknown): x is FenceTarget {
  if (typeof x !== 'object' || x === null) return false;
  const t = x as Record<string, unknown>;
  const int = (v: unknown) => v === undefined || (Number.isInteger(v) && (v as number) >= 0);
  return typeof t['vmId'] === 'string' && int(t['pid']) && int(t['startTimeTicks']) && (t['runDir'] === undefined || typeof t['runDir'] === 'string');
}

/** Writes fence-targets.json atomically (temp file, fsync, rename). */
export function writeTargets(file: string, targets: readonly FenceTarget[]): void {
  const tmp = `${file}.tmp-${process.pid}`;
  const fd = fs.openSync(tmp, 'w', 0o600);
  try {
    fs.writeFileSync(fd, JSON.stringify(targets) + '\n');
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
  fs.renameSync(tmp, file);
}

export interface LiveTarget {
  vmId: string;
  pid: number;
}

/** What the fencer found for one target: QEMUs to kill, and pids it refused to touch (with why). */
export interface Resolved {
  kill: LiveTarget[];
  refused: Array<{ vmId: string; pid: number; why: string }>;
}

/** The live processes of the targets that are provably theirs. */
export function resolveTargets(targets: readonly FenceTarget[]): Resolved {
  const kill = new Map<number, LiveTarget>();
  const refused: Resolved['refused'] = [];
  for (const t of targets) {
    if (t.pid !== undefined && isAlive(t.pid)) {
      const ticks = procStartTicks(t.pid);
      if (t.startTimeTicks !== undefined && ticks === t.startTimeTicks) kill.set(t.pid, { vmId: t.vmId, pid: t.pid });
      else if (!(t.runDir && isQemuFor(t.pid, t.runDir))) refused.push({ vmId: t.vmId, pid: t.pid, why: t.startTimeTicks === undefined ? 'no start time recorded' : `start time ${ticks} is not the recorded ${t.startTimeTicks} (pid reused)` });
      else kill.set(t.pid, { vmId: t.vmId, pid: t.pid });
    }
    if (t.runDir) {
      const pid = readPidfile(t.runDir);
      if (pid !== null && !kill.has(pid) && isQemuFor(pid, t.runDir)) kill.set(pid, { vmId: t.vmId, pid });
    }
  }
  return { kill: [...kill.values()], refused };
}

/** SIGKILL; false when the process was already gone. */
export function sigkill(pid: number): boolean {
  try {
    process.kill(pid, 'SIGKILL');
    return true;
  } catch {
    return false;
  }
}
