// Kernel Samepage Merging: ksmd scans memory that processes marked
// madvise(MADV_MERGEABLE) and maps identical pages once, copy-on-write. VMs
// booted from one image share much of their RAM (kernel, page cache, zeroes).
// QEMU marks all guest RAM mergeable by default (`-machine mem-merge=on` is
// the default), so turning ksmd on is all a host needs; a VM started with
// mem-merge=off is never merged.
import fs from 'node:fs';
import path from 'node:path';

export const KSM_DIR = '/sys/kernel/mm/ksm';

export interface KsmStatus {
  /** The kernel has KSM (CONFIG_KSM): the sysfs directory exists. */
  available: boolean;
  /** ksmd is scanning (run = 1). */
  running: boolean;
  /** Distinct merged pages kept in memory. */
  pagesShared: number;
  /** Further mappings of those pages: each one is a page not kept in memory. */
  pagesSharing: number;
  /** Pages scanned repeatedly without a twin found. */
  pagesUnshared: number;
  /** Zero pages KSM mapped to the kernel's zero page (only with use_zero_pages = 1; 0 when the kernel lacks it). */
  zeroPages: number;
  /** Completed passes over all mergeable memory. */
  fullScans: number;
  /**
   * Memory KSM saves: (pagesSharing + zeroPages) x page size. A shared page
   * is kept once (pages_shared) and mapped again pagesSharing times, and each
   * of those mappings would otherwise be a page of its own; the kernel counts
   * zero pages merged into its zero page the same way (mm/ksm.c,
   * general_profit). KSM's own bookkeeping (one rmap_item per scanned page)
   * is not subtracted: see profitBytes.
   */
  savedBytes: number;
  /** The kernel's net figure, savedBytes minus KSM's metadata (general_profit; null on kernels before 6.1). */
  profitBytes: number | null;
}

export interface KsmSettings {
  /** Pages ksmd scans per wake-up (kernel: 100). */
  pagesToScan?: number;
  /** How long ksmd sleeps between wake-ups (kernel: 20 ms). */
  sleepMs?: number;
}

export type KsmEnableResult = { enabled: true; wrote: Record<string, string> } | { enabled: false; reason: string };

export class KsmError extends Error {
  override name = 'KsmError';
}

/**
 * Our scan rate: 1000 pages every 50 ms, 20 000 pages (about 78 MiB) a
 * second, 4x the kernel's default: one pass over 24 GiB of guests takes
 * about 5 minutes instead of 21. ksmd's CPU use grows with the rate.
 */
export const KSM_DEFAULTS: Required<KsmSettings> = { pagesToScan: 1000, sleepMs: 50 };
const RANGES = { pagesToScan: { min: 1, max: 100_000 }, sleepMs: { min: 1, max: 60_000 } } as const;

let pageSize: number | undefined;

/** The base page size (KSM merges base pages): KernelPageSize of this process's first mapping, else 4 KiB. */
export function systemPageSize(): number {
  if (pageSize === undefined) {
    const buf = Buffer.alloc(4096);
    let text = '';
    try {
      const fd = fs.openSync('/proc/self/smaps', 'r');
      try {
        text = buf.toString('utf8', 0, fs.readSync(fd, buf, 0, buf.length, 0));
      } finally {
        fs.closeSync(fd);
      }
    } catch {
      // no /proc: keep the default
    }
    const kb = /^KernelPageSize:\s+(\d+) kB/m.exec(text);
    pageSize = kb ? Number(kb[1]) * 1024 : 4096;
  }
  return pageSize;
}

/** KSM's state and savings; all zero and not available when the kernel has no KSM. */
export function ksmStatus(sysDir = KSM_DIR, bytesPerPage = systemPageSize()): KsmStatus {
  const num = (file: string): number | null => {
    try {
      const n = Number(fs.readFileSync(path.join(sysDir, file), 'utf8').trim());
      return Number.isFinite(n) ? n : null;
    } catch {
      return null;
    }
  };
  const run = num('run');
  const pagesSharing = num('pages_sharing') ?? 0;
  const zeroPages = num('ksm_zero_pages') ?? 0;
  return {
    available: run !== null,
    running: run === 1,
    pagesShared: num('pages_shared') ?? 0,
    pagesSharing,
    pagesUnshared: num('pages_unshared') ?? 0,
    zeroPages,
    fullScans: num('full_scans') ?? 0,
    savedBytes: (pagesSharing + zeroPages) * bytesPerPage,
    profitBytes: num('general_profit'),
  };
}

/** Throws a KsmError naming the setting and its allowed range. */
export function validateKsmSettings(settings: KsmSettings): void {
  for (const [field, r] of Object.entries(RANGES) as [keyof KsmSettings, (typeof RANGES)[keyof KsmSettings]][]) {
    const v = settings[field];
    if (v !== undefined && !(Number.isInteger(v) && v >= r.min && v <= r.max)) throw new KsmError(`${field}: must be an integer between ${r.min} and ${r.max}, not ${String(v)}`);
  }
}

/**
 * Starts ksmd with our scan rate (or the one given). Changes nothing, and
 * says why, when the kernel has no KSM or its files cannot be written (not
 * root, read-only /sys).
 */
export function enableKsm(sysDir = KSM_DIR, settings: KsmSettings = {}): KsmEnableResult {
  validateKsmSettings(settings);
  const s = { ...KSM_DEFAULTS, ...settings };
  // run last: ksmd starts at the rate we asked for.
  const wanted: [string, string][] = [['pages_to_scan', String(s.pagesToScan)], ['sleep_millisecs', String(s.sleepMs)], ['run', '1']];
  if (!fs.existsSync(path.join(sysDir, 'run'))) return { enabled: false, reason: `this kernel has no KSM (${sysDir}/run is missing)` };
  for (const [file] of wanted) {
    try {
      fs.accessSync(path.join(sysDir, file), fs.constants.W_OK);
    } catch (err) {
      return { enabled: false, reason: `cannot write ${path.join(sysDir, file)} (${(err as NodeJS.ErrnoException).code}): KSM needs root and a writable /sys` };
    }
  }
  for (const [file, value] of wanted) fs.writeFileSync(path.join(sysDir, file), value);
  return { enabled: true, wrote: Object.fromEntries(wanted) };
}
