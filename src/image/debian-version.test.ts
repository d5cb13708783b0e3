import { describe, it, expect } from 'vitest';
import { compareDebianVersions } from './debian-version.js';

describe('compareDebianVersions', () => {
  const ascending = [
    '1.0~rc1-1',
    '1.0-1',
    '1.0-1+b1',
    '1.0-2',
    '1.0a-1',
    '1.0.1-1',
    '6.1.192-2',
    '6.12.100-1~deb12u1',
    '6.12.117-1~deb12u1',
    '6.12.117-1',
    '1:0.1-1',
  ];

  it('orders versions the way dpkg does', () => {
    for (let k = 0; k + 1 < ascending.length; k++) {
      const lo = ascending[k]!;
      const hi = ascending[k + 1]!;
      expect(compareDebianVersions(lo, hi), `${lo} < ${hi}`).toBeLessThan(0);
      expect(compareDebianVersions(hi, lo), `${hi} > ${lo}`).toBeGreaterThan(0);
    }
  });

  it('treats equal versions as equal', () => {
    expect(compareDebianVersions('6.1.192-2', '6.1.192-2')).toBe(0);
    expect(compareDebianVersions('0:1.0', '1.0')).toBe(0);
  });
});
