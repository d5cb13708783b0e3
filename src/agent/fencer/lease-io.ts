// The fencer's file I/O. The lease record lives in the shared pool, which may
// hang: it is written with async fs only (libuv threads), so a hung write
// never blocks the fencer's timer, which alone decides whether a renewal came
// in time. Everything else here is local to the host (the agent's state dir
// and /proc) and is read and written synchronously.
import fs from 'node:fs';
import path from 'node:path';
import type { LeaseRecord } from '../../core/ha-timing.js';
import type { InheritedLease } from './decide.js';
import type { FenceRecord } from './protocol.js';

/** The process-wide monotonic clock (CLOCK_MONOTONIC) in ms: the same in every process of one boot. */
export function monoNow(): number {
  return Number(process.hrtime.bigint()) / 1e6;
}

export function bootId(): string {
  try {
    return fs.readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim();
  } catch {
    return 'unknown';
  }
}

/** Temp file in the lease's own dir, fsync, rename: readers see the old record or the new one, never a torn one. */
export async function writeLease(file: string, record: LeaseRecord): Promise<void> {
  await fs.promises.mkdir(path.dirname(file), { recursive: true });
  const tmp = `${file}.tmp-${record.incarnation}-${record.seq}`;
  try {
    const fh = await fs.promises.open(tmp, 'w', 0o644);
    try {
      await fh.writeFile(JSON.stringify(record) + '\n');
      await fh.sync();
    } finally {
      await fh.close();
    }
    await fs.promises.rename(tmp, file);
  } catch (err) {
    void fs.promises.rm(tmp, { force: true }).catch(() => {});
    throw err;
  }
}

/** Small local JSON files (state dir): atomic, not fsynced (a crash of the machine ends the boot they describe). */
export function writeLocalJson(file: string, data: unknown): void {
  const tmp = `${file}.tmp-${process.pid}`;
  fs.writeFileSync(tmp, JSON.stringify(data, null, 2) + '\n', { mode: 0o600 });
  fs.renameSync(tmp, file);
}

function readLocalJson(file: string): unknown {
  try {
    return JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch {
    return undefined;
  }
}

export function readInherited(file: string): InheritedLease | undefined {
  const d = readLocalJson(file) as Partial<InheritedLease> | undefined;
  return d && typeof d.bootId === 'string' && typeof d.lastGoodAt === 'number' ? { bootId: d.bootId, lastGoodAt: d.lastGoodAt } : undefined;
}

const FENCED_KEEP = 100;

/** Appends to fenced.json (the latest FENCED_KEEP records stay). */
export function appendFenced(file: string, records: readonly FenceRecord[]): void {
  const before = readLocalJson(file);
  const all = [...(Array.isArray(before) ? (before as FenceRecord[]) : []), ...records].slice(-FENCED_KEEP);
  writeLocalJson(file, all);
}

export function readFenced(file: string): FenceRecord[] {
  const d = readLocalJson(file);
  return Array.isArray(d) ? (d as FenceRecord[]) : [];
}

/** The pid in a pidfile, or null. */
export function readPid(file: string): number | null {
  try {
    const pid = Number.parseInt(fs.readFileSync(file, 'utf8').trim(), 10);
    return Number.isInteger(pid) && pid > 0 ? pid : null;
  } catch {
    return null;
  }
}

/** True when pid runs our fencer (its command line names the fencer's entry). */
export function isFencer(pid: number): boolean {
  try {
    const argv = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
    return argv.some((a) => /fencer[/\\]main\.(ts|js)$/.test(a));
  } catch {
    return false;
  }
}
