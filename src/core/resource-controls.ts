// Per-VM resource controls, pure: their ranges, how a change merges into the
// limits a VM has, the checks against the VM's size, and how they read.
// CPU and memory become cgroup settings of the VM's QEMU (src/host/cgroups.ts);
// disk limits become QEMU's own I/O throttling of each disk (src/qemu/io-throttle.ts).
import { formatBytes } from './units.js';

export interface ResourceLimits {
  /** Relative CPU share against other VMs, 1-10000; absent: 100. */
  cpuWeight?: number;
  /** Hard cap in cores (0.5 = half a core), at most the VM's vCPUs; absent: no cap. */
  cpuLimitCores?: number;
  /** Hard cap on the memory charged to QEMU (guest RAM and QEMU's own); absent: no cap. */
  memoryLimitMiB?: number;
  /** Per disk: read and write operations per second; absent: no cap. */
  diskReadIops?: number;
  diskWriteIops?: number;
  /** Per disk: bytes read and written per second; absent: no cap. */
  diskReadBytesPerSec?: number;
  diskWriteBytesPerSec?: number;
}

export type LimitField = keyof ResourceLimits;

/** A change: `set` limits take these values, `remove` ones go, the others keep theirs; `clear` first removes all. */
export interface LimitsChange {
  set?: ResourceLimits;
  remove?: LimitField[];
  clear?: boolean;
}

export const LIMIT_FIELDS: readonly LimitField[] = ['cpuWeight', 'cpuLimitCores', 'memoryLimitMiB', 'diskReadIops', 'diskWriteIops', 'diskReadBytesPerSec', 'diskWriteBytesPerSec'];

export const LIMIT_RANGES: Record<LimitField, { min: number; max: number; integer: boolean }> = {
  cpuWeight: { min: 1, max: 10_000, integer: true },
  cpuLimitCores: { min: 0.01, max: 1024, integer: false },
  memoryLimitMiB: { min: 64, max: 16 * 1024 * 1024, integer: true },
  diskReadIops: { min: 1, max: 1_000_000, integer: true },
  diskWriteIops: { min: 1, max: 1_000_000, integer: true },
  diskReadBytesPerSec: { min: 65_536, max: 2 ** 40, integer: true },
  diskWriteBytesPerSec: { min: 65_536, max: 2 ** 40, integer: true },
};

/** What QEMU itself needs beyond guest RAM (under TCG more: its translated code): a memory cap must leave at least this. */
export const QEMU_MEMORY_HEADROOM_MIB = 64;

export interface LimitProblem {
  field: LimitField;
  message: string;
  allowed: string;
}

/** The limits after a change. */
export function mergeLimits(current: ResourceLimits | undefined, change: LimitsChange): ResourceLimits {
  const next: ResourceLimits = change.clear ? {} : { ...current };
  for (const field of change.remove ?? []) delete next[field];
  for (const field of LIMIT_FIELDS) {
    const v = change.set?.[field];
    if (v !== undefined) next[field] = v;
  }
  return next;
}

/** A key of `limits` that names no limit (the schema lets unknown keys through; they are refused here, by name). */
export function unknownLimitField(limits: object | undefined): string | undefined {
  return Object.keys(limits ?? {}).find((k) => !(LIMIT_FIELDS as readonly string[]).includes(k));
}

/** The first value out of its range, or a cap that does not fit the VM's size (vCPUs, memory). */
export function limitsProblem(limits: ResourceLimits, size: { cpus: number; memoryMiB: number }): LimitProblem | undefined {
  for (const field of LIMIT_FIELDS) {
    const v = limits[field];
    const r = LIMIT_RANGES[field];
    if (v === undefined) continue;
    const ok = typeof v === 'number' && Number.isFinite(v) && v >= r.min && v <= r.max && (!r.integer || Number.isInteger(v));
    const allowed = `${r.integer ? 'a whole number ' : ''}from ${r.min} to ${r.max}`;
    if (!ok) return { field, message: `${field} must be ${allowed}, not ${String(v)}`, allowed };
  }
  if (limits.cpuLimitCores !== undefined && limits.cpuLimitCores > size.cpus) {
    return { field: 'cpuLimitCores', message: `cpuLimitCores ${limits.cpuLimitCores} is more than the VM's ${size.cpus} vCPUs: a cap above them caps nothing`, allowed: `0.01 to ${size.cpus}` };
  }
  return memoryLimitProblem(limits, size.memoryMiB);
}

/** A memory cap must hold the VM's memory and QEMU's own. */
export function memoryLimitProblem(limits: ResourceLimits | undefined, memoryMiB: number): LimitProblem | undefined {
  const cap = limits?.memoryLimitMiB;
  const least = memoryMiB + QEMU_MEMORY_HEADROOM_MIB;
  if (cap === undefined || cap >= least) return undefined;
  return {
    field: 'memoryLimitMiB',
    message: `memoryLimitMiB ${cap} does not hold the VM's ${memoryMiB} MiB and QEMU's own memory: give at least ${least} (memory + ${QEMU_MEMORY_HEADROOM_MIB}), or remove the cap`,
    allowed: `>= ${least}`,
  };
}

/** The cgroup part (CPU, memory); absent fields are unlimited. */
export function cgroupPart(limits: ResourceLimits | undefined): Pick<ResourceLimits, 'cpuWeight' | 'cpuLimitCores' | 'memoryLimitMiB'> {
  const { cpuWeight, cpuLimitCores, memoryLimitMiB } = limits ?? {};
  return { ...(cpuWeight !== undefined ? { cpuWeight } : {}), ...(cpuLimitCores !== undefined ? { cpuLimitCores } : {}), ...(memoryLimitMiB !== undefined ? { memoryLimitMiB } : {}) };
}

/** The per-disk caps, 0 for none (QEMU's convention for its throttle). */
export function diskLimitsOf(limits: ResourceLimits | undefined): { readIops: number; writeIops: number; readBytesPerSec: number; writeBytesPerSec: number } {
  const l = limits ?? {};
  return { readIops: l.diskReadIops ?? 0, writeIops: l.diskWriteIops ?? 0, readBytesPerSec: l.diskReadBytesPerSec ?? 0, writeBytesPerSec: l.diskWriteBytesPerSec ?? 0 };
}

export function hasDiskLimits(limits: ResourceLimits | undefined): boolean {
  return ['diskReadIops', 'diskWriteIops', 'diskReadBytesPerSec', 'diskWriteBytesPerSec'].some((f) => limits?.[f as LimitField] !== undefined);
}

/** "CPU limit 1 core, memory limit 512 MiB, disk read 100 IOPS", or "none". */
export function formatLimits(limits: ResourceLimits | undefined): string {
  const l = limits ?? {};
  const rate = (bytes: number) => `${formatBytes(bytes)}/s`;
  const parts = [
    l.cpuWeight !== undefined ? `CPU weight ${l.cpuWeight}` : '',
    l.cpuLimitCores !== undefined ? `CPU limit ${l.cpuLimitCores} core${l.cpuLimitCores === 1 ? '' : 's'}` : '',
    l.memoryLimitMiB !== undefined ? `memory limit ${l.memoryLimitMiB} MiB` : '',
    l.diskReadIops !== undefined ? `disk read ${l.diskReadIops} IOPS` : '',
    l.diskWriteIops !== undefined ? `disk write ${l.diskWriteIops} IOPS` : '',
    l.diskReadBytesPerSec !== undefined ? `disk read ${rate(l.diskReadBytesPerSec)}` : '',
    l.diskWriteBytesPerSec !== undefined ? `disk write ${rate(l.diskWriteBytesPerSec)}` : '',
  ].filter(Boolean);
  return parts.length ? parts.join(', ') : 'none';
}
