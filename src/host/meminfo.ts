// The host's memory as the kernel sees it (/proc/meminfo).
import fs from 'node:fs';

export interface HostMemory {
  totalMiB: number;
  /** MemAvailable: what can be given out without swapping (free plus reclaimable cache). */
  availableMiB: number;
}

/** MemTotal and MemAvailable of /proc/meminfo, in MiB. */
export async function readHostMemory(): Promise<HostMemory> {
  return parseMemInfo(await fs.promises.readFile('/proc/meminfo', 'utf8'));
}

export function parseMemInfo(text: string): HostMemory {
  const kib = (field: string): number => {
    const m = new RegExp(`^${field}:\\s+(\\d+)\\s+kB`, 'm').exec(text);
    if (!m) throw new Error(`/proc/meminfo has no ${field} (Linux 3.14 or later reports MemAvailable)`);
    return Number(m[1]);
  };
  return { totalMiB: Math.floor(kib('MemTotal') / 1024), availableMiB: Math.floor(kib('MemAvailable') / 1024) };
}
