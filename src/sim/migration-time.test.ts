import { describe, expect, it } from 'vitest';
import { migrationEstimate } from './migration-time.js';

describe('migration time model', () => {
  const base = { memoryMiB: 8192, dirtyMiBs: 0, bandwidthMiBs: 1000, setupSeconds: 2 };

  it('an idle guest takes setup plus memory over bandwidth', () => {
    const e = migrationEstimate(base);
    expect(e.seconds).toBeCloseTo(2 + 8.192, 6);
    expect(e.sentMiB).toBe(8192);
    expect(e.throttled).toBe(false);
  });

  it('grows with memory and with the dirty rate; a guest dirtying near the bandwidth is throttled', () => {
    const dirty = migrationEstimate({ ...base, dirtyMiBs: 500 });
    expect(dirty.seconds).toBeGreaterThan(migrationEstimate(base).seconds);
    // Precopy passes: 8192 + 4096 + 2048 + ... until what is left fits 300 ms (300 MiB).
    expect(dirty.sentMiB).toBeCloseTo(8192 + 4096 + 2048 + 1024 + 512 + 256, 6);
    expect(migrationEstimate({ ...base, memoryMiB: 16384 }).seconds).toBeGreaterThan(migrationEstimate(base).seconds);
    const hot = migrationEstimate({ ...base, dirtyMiBs: 5000 });
    expect(hot.throttled).toBe(true);
    expect(hot.seconds).toBeCloseTo(dirty.seconds, 6); // throttled to half the bandwidth, like the 500 MiB/s guest
  });
});
