import { describe, expect, it } from 'vitest';
import { formatIpv4, isReservedAddress, nextFreeAddress, parseCidr, parseIpv4, parseRange } from './ipv4.js';

describe('ipv4', () => {
  it('parses and formats dotted quads', () => {
    expect(parseIpv4('10.77.1.5')).toBe(10 * 2 ** 24 + 77 * 2 ** 16 + 256 + 5);
    expect(formatIpv4(parseIpv4('255.255.255.255')!)).toBe('255.255.255.255');
    expect(parseIpv4('10.77.1.256')).toBeUndefined();
    expect(parseIpv4('10.77.1')).toBeUndefined();
  });

  it('parses CIDR', () => {
    expect(parseCidr('10.77.1.5/16')).toEqual({ address: parseIpv4('10.77.1.5'), prefix: 16 });
    expect(parseCidr('10.77.1.5/33')).toBeUndefined();
    expect(parseCidr('10.77.1.5')).toBeUndefined();
  });

  it('parses ranges and explains bad ones', () => {
    expect(parseRange('10.77.1.1-10.77.1.3/16')).toEqual({ first: parseIpv4('10.77.1.1'), last: parseIpv4('10.77.1.3'), prefix: 16 });
    expect(parseRange('10.77.1.3-10.77.1.1/16')).toMatch(/after the last/);
    expect(parseRange('10.77.1.1-10.78.1.1/16')).toMatch(/one \/16 subnet/);
    expect(parseRange('10.77.1.1/16')).toMatch(/FIRST-LAST\/PREFIX/);
  });

  it('hands out the lowest free address, and none when the range is full', () => {
    const range = parseRange('10.77.1.1-10.77.1.3/16');
    if (typeof range === 'string') throw new Error(range);
    expect(nextFreeAddress(range, [])).toBe('10.77.1.1/16');
    expect(nextFreeAddress(range, ['10.77.1.1/16', '10.77.1.3/16'])).toBe('10.77.1.2/16');
    expect(nextFreeAddress(range, ['10.77.1.1/16', '10.77.1.2/16', '10.77.1.3/16'])).toBeUndefined();
  });

  it('knows network and broadcast addresses', () => {
    expect(isReservedAddress(parseIpv4('10.77.0.0')!, 16)).toBe(true);
    expect(isReservedAddress(parseIpv4('10.77.255.255')!, 16)).toBe(true);
    expect(isReservedAddress(parseIpv4('10.77.0.1')!, 16)).toBe(false);
  });
});
