import { describe, expect, it } from 'vitest';
import { formatBytes, parseSize } from './units.js';
import { checkName } from './names.js';

describe('parseSize', () => {
  it('reads plain numbers in the default unit and suffixed sizes', () => {
    expect(parseSize('256', 'm')).toEqual({ ok: true, bytes: 256 * 1024 ** 2 });
    expect(parseSize('1G', 'm')).toEqual({ ok: true, bytes: 1024 ** 3 });
    expect(parseSize('1.5GiB', 'b')).toEqual({ ok: true, bytes: 1.5 * 1024 ** 3 });
    expect(parseSize('10', 'g')).toEqual({ ok: true, bytes: 10 * 1024 ** 3 });
  });
  it('rejects garbage, unknown units and zero with a reason', () => {
    for (const bad of ['abc', '1X', '0', '-5', '']) {
      const r = parseSize(bad, 'm');
      expect(r.ok).toBe(false);
    }
    const r = parseSize('3Q', 'm');
    expect(!r.ok && r.reason).toContain('unknown unit');
  });
  it('formats bytes', () => {
    expect(formatBytes(256 * 1024 ** 2)).toBe('256 MiB');
    expect(formatBytes(1536 * 1024 ** 2)).toBe('1.5 GiB');
  });
});

describe('checkName', () => {
  it('accepts DNS-label names and explains rejections', () => {
    expect(checkName('web-1')).toBeNull();
    expect(checkName('Web')).toContain('lowercase');
    expect(checkName('-a')).not.toBeNull();
    expect(checkName('a'.repeat(64))).not.toBeNull();
    expect(checkName('a/b')).not.toBeNull();
  });
});
