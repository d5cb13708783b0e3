import { describe, expect, it } from 'vitest';
import { cgroupPart, diskLimitsOf, formatLimits, hasDiskLimits, limitsProblem, memoryLimitProblem, mergeLimits, unknownLimitField } from './resource-controls.js';

const size = { cpus: 2, memoryMiB: 256 };

describe('resource controls', () => {
  it('merges a change: set, remove, the rest kept; clear drops what the change does not set', () => {
    const current = { cpuWeight: 200, cpuLimitCores: 1, diskReadIops: 100 };
    expect(mergeLimits(current, { set: { cpuLimitCores: 0.5 }, remove: ['cpuWeight'] })).toEqual({ cpuLimitCores: 0.5, diskReadIops: 100 });
    expect(mergeLimits(current, { set: { memoryLimitMiB: 512 }, clear: true })).toEqual({ memoryLimitMiB: 512 });
    expect(mergeLimits(undefined, { clear: true })).toEqual({});
    expect(current).toEqual({ cpuWeight: 200, cpuLimitCores: 1, diskReadIops: 100 });
  });

  it('finds a key that names no limit', () => {
    expect(unknownLimitField({ cpuWeight: 1, cpuShares: 2 })).toBe('cpuShares');
    expect(unknownLimitField({ cpuWeight: 1 })).toBeUndefined();
    expect(unknownLimitField(undefined)).toBeUndefined();
  });

  it('names the field and what it allows', () => {
    expect(limitsProblem({ cpuWeight: 0 }, size)).toEqual({ field: 'cpuWeight', message: 'cpuWeight must be a whole number from 1 to 10000, not 0', allowed: 'a whole number from 1 to 10000' });
    expect(limitsProblem({ cpuLimitCores: 0.001 }, size)?.field).toBe('cpuLimitCores');
    expect(limitsProblem({ diskWriteBytesPerSec: 1000 }, size)?.message).toBe('diskWriteBytesPerSec must be a whole number from 65536 to 1099511627776, not 1000');
    expect(limitsProblem({ diskReadIops: 1.5 }, size)?.field).toBe('diskReadIops');
    expect(limitsProblem({ cpuLimitCores: 3 }, size)).toMatchObject({ field: 'cpuLimitCores', allowed: '0.01 to 2', message: expect.stringMatching(/more than the VM's 2 vCPUs/) });
    expect(limitsProblem({ memoryLimitMiB: 300 }, size)).toMatchObject({ field: 'memoryLimitMiB', allowed: '>= 320' });
    expect(limitsProblem({ cpuWeight: 1, cpuLimitCores: 2, memoryLimitMiB: 320, diskReadIops: 1, diskWriteBytesPerSec: 65536 }, size)).toBeUndefined();
    expect(limitsProblem({}, size)).toBeUndefined();
  });

  it('checks a memory cap against a new memory size', () => {
    expect(memoryLimitProblem({ memoryLimitMiB: 1024 }, 960)).toBeUndefined();
    expect(memoryLimitProblem({ memoryLimitMiB: 1024 }, 961)?.message).toMatch(/give at least 1025 \(memory \+ 64\)/);
    expect(memoryLimitProblem(undefined, 100_000)).toBeUndefined();
  });

  it('splits into the cgroup part and the per-disk caps (0: none)', () => {
    const l = { cpuWeight: 50, memoryLimitMiB: 512, diskReadIops: 100, diskWriteBytesPerSec: 1 << 20 };
    expect(cgroupPart(l)).toEqual({ cpuWeight: 50, memoryLimitMiB: 512 });
    expect(cgroupPart(undefined)).toEqual({});
    expect(diskLimitsOf(l)).toEqual({ readIops: 100, writeIops: 0, readBytesPerSec: 0, writeBytesPerSec: 1 << 20 });
    expect(hasDiskLimits(l)).toBe(true);
    expect(hasDiskLimits({ cpuWeight: 5 })).toBe(false);
  });

  it('reads as a sentence', () => {
    expect(formatLimits(undefined)).toBe('none');
    expect(formatLimits({ cpuLimitCores: 1, memoryLimitMiB: 512, diskReadIops: 200, diskWriteBytesPerSec: 10 * 1024 ** 2 })).toBe('CPU limit 1 core, memory limit 512 MiB, disk read 200 IOPS, disk write 10 MiB/s');
    expect(formatLimits({ cpuWeight: 300, cpuLimitCores: 1.5 })).toBe('CPU weight 300, CPU limit 1.5 cores');
  });
});
