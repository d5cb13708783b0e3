// The values of per-VM cgroup limits, pure: checking them, turning them
// into the v1 and v2 control files and values, and reading them back.
const MiB = 1024 ** 2;
/** The CFS period we write; a quota of `cores x period` lets the group run that many cores' worth per period. */
export const CFS_PERIOD_US = 100_000;
/** v1 memory.limit_in_bytes reads back as LONG_MAX rounded down to a page when unlimited; anything this big is "no limit". */
const V1_UNLIMITED = 2 ** 62;

export class CgroupError extends Error {
  override name = 'CgroupError';
  /** The VmLimits field at fault, when the error is about one. */
  constructor(
    message: string,
    readonly field?: string,
  ) {
    super(message);
  }
}

export interface VmLimits {
  /** Relative CPU share, 1..10000 like cgroup v2 cpu.weight; default 100. */
  cpuWeight?: number;
  /** Hard cap in cores (0.5 = half a core); absent = no cap. */
  cpuLimitCores?: number;
  /** Hard cap on the memory charged to QEMU (guest RAM plus QEMU's own); absent = no cap. */
  memoryLimitMiB?: number;
}


export const LIMIT_RANGES = {
  cpuWeight: { min: 1, max: 10_000, integer: true },
  cpuLimitCores: { min: 0.01, max: 1024, integer: false },
  memoryLimitMiB: { min: 64, max: 16 * 1024 * 1024, integer: true },
} as const;

/** Throws a CgroupError naming the field and its allowed range. */
export function validateVmLimits(limits: VmLimits): void {
  for (const [field, r] of Object.entries(LIMIT_RANGES) as [keyof VmLimits, (typeof LIMIT_RANGES)[keyof VmLimits]][]) {
    const v = limits[field];
    if (v === undefined) continue;
    const ok = typeof v === 'number' && Number.isFinite(v) && v >= r.min && v <= r.max && (!r.integer || Number.isInteger(v));
    if (!ok) throw new CgroupError(`${field}: must be ${r.integer ? 'an integer ' : ''}between ${r.min} and ${r.max}, not ${String(v)}`, field);
  }
}

export function checkVmId(vmId: string): void {
  if (!/^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$/.test(vmId)) throw new CgroupError(`vmId: "${vmId}" cannot name a cgroup (1-128 letters, digits, '_', '.', '-')`, 'vmId');
}

type Files = [file: string, value: string][];

/** The v1 files and values for limits, per controller. */
export function v1Files(limits: VmLimits): { cpu: Files; memory: Files } {
  const weight = limits.cpuWeight ?? 100;
  // cpu.shares defaults to 1024 as cpu.weight does to 100; the kernel takes 2..262144.
  const shares = Math.min(262_144, Math.max(2, Math.round((weight * 1024) / 100)));
  const quota = limits.cpuLimitCores === undefined ? -1 : Math.round(limits.cpuLimitCores * CFS_PERIOD_US);
  const memory = limits.memoryLimitMiB === undefined ? -1 : limits.memoryLimitMiB * MiB;
  return {
    // The period before the quota, so the quota is taken against our period.
    cpu: [['cpu.shares', String(shares)], ['cpu.cfs_period_us', String(CFS_PERIOD_US)], ['cpu.cfs_quota_us', String(quota)]],
    memory: [['memory.limit_in_bytes', String(memory)]],
  };
}

/** The v2 files and values for limits (all in the one group). */
export function v2Files(limits: VmLimits): Files {
  const quota = limits.cpuLimitCores === undefined ? 'max' : String(Math.round(limits.cpuLimitCores * CFS_PERIOD_US));
  return [
    ['cpu.weight', String(limits.cpuWeight ?? 100)],
    ['cpu.max', `${quota} ${CFS_PERIOD_US}`],
    ['memory.max', limits.memoryLimitMiB === undefined ? 'max' : String(limits.memoryLimitMiB * MiB)],
  ];
}

export interface LimitsInForce {
  cpuWeight: number;
  /** null: no cap. */
  cpuLimitCores: number | null;
  memoryLimitMiB: number | null;
}

/** Limits from the v1 files' contents (shares are rounded back to the weight that wrote them). */
export function limitsFromV1(f: { shares: string; quotaUs: string; periodUs: string; memoryLimitBytes: string }): LimitsInForce {
  const quota = Number(f.quotaUs);
  const mem = Number(f.memoryLimitBytes);
  return {
    cpuWeight: Math.round((Number(f.shares) * 100) / 1024),
    cpuLimitCores: quota < 0 ? null : quota / Number(f.periodUs),
    memoryLimitMiB: mem >= V1_UNLIMITED ? null : mem / MiB,
  };
}

/** Limits from the v2 files' contents. */
export function limitsFromV2(f: { weight: string; max: string; memoryMax: string }): LimitsInForce {
  const [quota = 'max', period = String(CFS_PERIOD_US)] = f.max.trim().split(/\s+/);
  const mem = f.memoryMax.trim();
  return {
    cpuWeight: Number(f.weight),
    cpuLimitCores: quota === 'max' ? null : Number(quota) / Number(period),
    memoryLimitMiB: mem === 'max' ? null : Number(mem) / MiB,
  };
}

/** A value of a flat-keyed file like cpu.stat ("usage_usec 123\n..."), or null. */
export function statField(text: string, key: string): number | null {
  const m = new RegExp(`^${key} (\\d+)$`, 'm').exec(text);
  return m ? Number(m[1]) : null;
}
