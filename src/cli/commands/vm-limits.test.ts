import { describe, expect, it } from 'vitest';
import type { Vm } from '../../api/resources.js';
import { UsageError } from '../output.js';
import { appliedLines, appliedMatches, limitsDetail } from './limits-view.js';
import { buildLimitsRequest } from './vm-limits.js';

const MiB = 1024 ** 2;

describe('drover vm limits flags', () => {
  it('turns the flags into set, remove and clear', () => {
    expect(buildLimitsRequest({})).toBeUndefined();
    expect(buildLimitsRequest({ cpuWeight: '200', cpuLimit: '1.5', memoryLimit: '1G' })).toEqual({ set: { cpuWeight: 200, cpuLimitCores: 1.5, memoryLimitMiB: 1024 } });
    expect(buildLimitsRequest({ memoryLimit: '768' })).toEqual({ set: { memoryLimitMiB: 768 } });
    expect(buildLimitsRequest({ diskIops: '200/100', diskBandwidth: '20M' })).toEqual({ set: { diskReadIops: 200, diskWriteIops: 100, diskReadBytesPerSec: 20 * MiB, diskWriteBytesPerSec: 20 * MiB } });
    expect(buildLimitsRequest({ diskIops: 'none/50', cpuLimit: 'none' })).toEqual({ set: { diskWriteIops: 50 }, remove: ['cpuLimitCores', 'diskReadIops'] });
    expect(buildLimitsRequest({ clear: true })).toEqual({ clear: true });
    expect(buildLimitsRequest({ cpuWeight: '10', clear: true })).toEqual({ set: { cpuWeight: 10 }, clear: true });
  });

  const bad: Array<[object, string]> = [
    [{ cpuWeight: '0' }, '--cpu-weight'],
    [{ cpuWeight: '1.5' }, '--cpu-weight'],
    [{ cpuLimit: 'lots' }, '--cpu-limit'],
    [{ cpuLimit: '0' }, '--cpu-limit'],
    [{ memoryLimit: '32M' }, '--memory-limit'],
    [{ memoryLimit: '1.0001G' }, '--memory-limit'],
    [{ diskIops: '1/2/3' }, '--disk-iops'],
    [{ diskIops: '100/' }, '--disk-iops'],
    [{ diskBandwidth: '1K' }, '--disk-bandwidth'],
  ];
  for (const [flags, option] of bad) {
    it(`refuses ${JSON.stringify(flags)}, naming ${option}`, () => {
      let err: unknown;
      try {
        buildLimitsRequest(flags);
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(UsageError);
      expect((err as UsageError).field).toBe(option);
      expect((err as UsageError).allowed).toBeTruthy();
    });
  }
});

describe('limits view', () => {
  const vm = (over: Partial<Vm>): Vm => ({ name: 'web', phase: 'Running', spec: { limits: { cpuLimitCores: 1, diskReadIops: 200 } }, ...over }) as unknown as Vm;
  const applied = { cgroup: { version: 1 as const, cpuWeight: 100, cpuLimitCores: 1 }, disks: [{ id: 'disk-boot', readIops: 200, writeIops: 0, readBytesPerSec: 0, writeBytesPerSec: 5 * MiB }] };

  it('shows what is in force, the throttled time, and what is not applied', () => {
    expect(appliedLines(applied)).toEqual(['cgroup v1: CPU weight 100, CPU cap 1 core, memory cap none', 'disk disk-boot: read 200 IOPS, no cap; write no cap, 5 MiB/s']);
    expect(appliedLines({ problems: ['CPU and memory limits are not applied: x'] })).toEqual(['not applied: CPU and memory limits are not applied: x']);
    const text = limitsDetail(vm({ appliedLimits: applied, stats: { cpuSeconds: 9, rssBytes: 1, cpuThrottledSeconds: 4.25 } }), true);
    expect(text).toBe(['VM web limits: CPU limit 1 core, disk read 200 IOPS', 'In force on its host:', '  cgroup v1: CPU weight 100, CPU cap 1 core, memory cap none', '  disk disk-boot: read 200 IOPS, no cap; write no cap, 5 MiB/s', '  CPU throttled 4.3 s'].join('\n'));
    expect(limitsDetail(vm({ phase: 'Stopped' }), true)).toBe('VM web limits: CPU limit 1 core, disk read 200 IOPS\n  (Stopped: they apply when it starts)');
  });

  it('knows when the host shows the spec in force', () => {
    const spec = { cpuLimitCores: 1, diskReadIops: 200, diskWriteBytesPerSec: 5 * MiB };
    expect(appliedMatches(spec, applied)).toBe(true);
    expect(appliedMatches({ ...spec, cpuLimitCores: 0.5 }, applied)).toBe(false);
    expect(appliedMatches({ ...spec, diskReadIops: 100 }, applied)).toBe(false);
    expect(appliedMatches({ cpuLimitCores: 1 }, undefined)).toBe(false);
    expect(appliedMatches({ cpuLimitCores: 1 }, { problems: ['no cgroups'] })).toBe(true);
  });
});
