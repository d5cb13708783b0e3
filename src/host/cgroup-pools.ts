// The resource pool level of VM cgroups (docs/resource-pools.md, "Shares"):
// a VM of a pool with CPU shares goes to <group>/pool-<name>/vm-<id>, and the
// pool group's CPU weight is the pool's shares (src/core/resource-pools.ts
// sharesToWeight: v2 cpu.weight, v1 cpu.shares mapped as VM weights are).
// So the VMs of a pool compete together against the other pools, and among
// themselves by their own weights.
import fsp from 'node:fs/promises';
import path from 'node:path';
import { CgroupError, v1Files } from './cgroup-limits.js';

/** A VM's pool group: the pool's name and its CPU weight (1-10000, 100 = default). */
export interface PoolGroup {
  name: string;
  cpuWeight: number;
}

export function poolDirName(pool: string): string {
  if (!/^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/.test(pool)) throw new CgroupError(`pool: "${pool}" cannot name a cgroup (1-63 lowercase letters, digits and '-')`, 'pool');
  return `pool-${pool}`;
}

/** The control file and value of the pool group's CPU weight. */
export function poolWeightFile(version: 1 | 2, cpuWeight: number): [file: string, value: string] {
  if (!Number.isInteger(cpuWeight) || cpuWeight < 1 || cpuWeight > 10_000) throw new CgroupError(`cpuWeight: must be an integer between 1 and 10000, not ${cpuWeight}`, 'cpuWeight');
  if (version === 2) return ['cpu.weight', String(cpuWeight)];
  return v1Files({ cpuWeight }).cpu[0]!;
}

/** Removes a pool group that holds no VM any more (best effort: one still in use stays). */
export async function removePoolDirIfEmpty(dir: string): Promise<void> {
  await fsp.rmdir(dir).catch((err: NodeJS.ErrnoException) => {
    if (!['ENOENT', 'EBUSY', 'ENOTEMPTY', 'EEXIST'].includes(err.code ?? '')) throw new CgroupError(`cannot remove ${dir} (${err.code ?? err.message})`);
  });
}

export const poolDirOf = (vmDir: string) => path.dirname(vmDir);
