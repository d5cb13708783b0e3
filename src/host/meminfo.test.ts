import { describe, expect, it } from 'vitest';
import { parseMemInfo } from './meminfo.js';

describe('parseMemInfo', () => {
  it('reads MemTotal and MemAvailable in MiB', () => {
    const text = 'MemTotal:       24557648 kB\nMemFree:         1203456 kB\nMemAvailable:   18350080 kB\nBuffers:          123 kB\n';
    expect(parseMemInfo(text)).toEqual({ totalMiB: 23982, availableMiB: 17920 });
  });
  it('names the field it misses', () => {
    expect(() => parseMemInfo('MemTotal: 1024 kB\n')).toThrow(/no MemAvailable/);
  });
});
