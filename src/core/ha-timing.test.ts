import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { DEFAULT_IO_TIMEOUT_MS, haTiming, leaseChanged, timingProblems, type HaTiming } from './ha-timing.js';

describe('haTiming', () => {
  it('derives every timeout from the default I/O timeout', () => {
    expect(haTiming()).toEqual(haTiming(DEFAULT_IO_TIMEOUT_MS));
    expect(haTiming(1000)).toEqual({
      ioTimeoutMs: 1000,
      renewEveryMs: 1000,
      agentStallMs: 3000,
      agentPingMs: 250,
      fenceAfterMs: 4000,
      killMarginMs: 1000,
      pollMs: 250,
      expireAfterMs: 4000 + 1000 + 250 + 1000,
      heartbeatSuspectMs: 3000,
    });
  });

  it('keeps pings and polls at 100 ms at least for short I/O timeouts', () => {
    const t = haTiming(200);
    expect(t).toMatchObject({ renewEveryMs: 200, agentStallMs: 600, agentPingMs: 100, fenceAfterMs: 800, killMarginMs: 200, pollMs: 100 });
    expect(t.expireAfterMs).toBe(800 + 200 + 100 + 200);
  });

  it('keeps every margin for any I/O timeout from 100 ms on', () => {
    fc.assert(
      fc.property(fc.integer({ min: 100, max: 600_000 }), (t) => {
        const h = haTiming(t);
        expect(timingProblems(h)).toEqual([]);
        // The order the safety argument relies on.
        expect(h.renewEveryMs).toBeLessThanOrEqual(h.ioTimeoutMs);
        expect(h.agentPingMs).toBeLessThan(h.agentStallMs);
        expect(h.fenceAfterMs).toBeGreaterThan(h.agentStallMs);
        expect(h.expireAfterMs).toBeGreaterThan(h.fenceAfterMs + h.killMarginMs);
      }),
    );
  });

  it('refuses a derived timing from an I/O timeout under 100 ms', () => {
    const problems = timingProblems(haTiming(50));
    expect(problems.some((p) => p.startsWith('ioTimeoutMs must be at least 100 (got 50)'))).toBe(true);
  });
});

describe('timingProblems', () => {
  const base = haTiming(1000);
  const broken: Array<[string, Partial<HaTiming>, RegExp]> = [
    // ioTimeoutMs alone below 100 (renewEveryMs follows it so that only this margin breaks).
    ['ioTimeoutMs', { ...haTiming(100), ioTimeoutMs: 99, renewEveryMs: 99 }, /^ioTimeoutMs must be at least 100 \(got 99\)/],
    ['renewEveryMs', { renewEveryMs: 1001 }, /^renewEveryMs \(1001\) must not exceed ioTimeoutMs \(1000\)/],
    ['fenceAfterMs', { fenceAfterMs: 2999, expireAfterMs: 10_000 }, /^fenceAfterMs \(2999\) must allow a failed renewal/],
    ['agentPingMs', { agentPingMs: 1501 }, /^agentPingMs \(1501\) must be at most half of agentStallMs \(3000\)/],
    ['expireAfterMs', { expireAfterMs: 6249 }, /^expireAfterMs \(6249\) must be at least .* = 6250: observers could declare a host dead before it fenced itself/],
    ['killMarginMs (through expireAfterMs)', { killMarginMs: 1001 }, /^expireAfterMs \(6250\) must be at least .* = 6251/],
    ['pollMs (through expireAfterMs)', { pollMs: 251 }, /^expireAfterMs \(6250\) must be at least .* = 6251/],
  ];

  it('passes the defaults', () => {
    expect(timingProblems(haTiming())).toEqual([]);
  });

  it.each(broken)('reports a broken %s margin, and only that one', (_name, change, message) => {
    const problems = timingProblems({ ...base, ...change });
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatch(message);
  });

  it('accepts each margin exactly at its limit', () => {
    expect(timingProblems({ ...base, renewEveryMs: 1000, fenceAfterMs: 3000, expireAfterMs: 3000 + 1000 + 250 + 1000 })).toEqual([]);
    expect(timingProblems({ ...base, agentPingMs: 1500 })).toEqual([]);
  });

  it('reports every broken margin at once', () => {
    const problems = timingProblems({ ...base, renewEveryMs: 2000, agentPingMs: 2000, expireAfterMs: 0 });
    expect(problems).toHaveLength(4);
  });

  it('refuses a timing that is not a number', () => {
    expect(timingProblems({ ...base, ioTimeoutMs: Number.NaN }).length).toBeGreaterThan(0);
  });
});

describe('leaseChanged', () => {
  const r = { incarnation: 'a', seq: 3 };
  it('sees a first record, a new seq and a new incarnation as changes', () => {
    expect(leaseChanged(undefined, r)).toBe(true);
    expect(leaseChanged(r, { incarnation: 'a', seq: 4 })).toBe(true);
    expect(leaseChanged(r, { incarnation: 'b', seq: 3 })).toBe(true);
    expect(leaseChanged(r, { incarnation: 'b', seq: 1 })).toBe(true);
  });

  it('sees the same record, or none, as no change', () => {
    expect(leaseChanged(r, { ...r })).toBe(false);
    expect(leaseChanged(r, undefined)).toBe(false);
    expect(leaseChanged(undefined, undefined)).toBe(false);
  });
});
