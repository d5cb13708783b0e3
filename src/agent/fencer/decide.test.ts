import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { haTiming } from '../../core/ha-timing.js';
import { afterRenewal, decideFencer, inheritedLastGood, MAX_WRITES_IN_FLIGHT, type FencerClock } from './decide.js';

// T = 1000: renew every 1000, agent stall 3000, fence after 4000.
const t = haTiming(1000);
const clock = (c: Partial<FencerClock>): FencerClock => ({ now: 10_000, startedAt: 0, writesInFlight: 0, standingDown: false, ...c });

describe('decideFencer: renewing', () => {
  it('does not renew before any agent has pinged', () => {
    const d = decideFencer(clock({}), t);
    expect(d).toMatchObject({ renew: false, state: 'no-agent' });
  });

  it('renews at once after the first ping, then every renewEveryMs', () => {
    expect(decideFencer(clock({ lastPingAt: 9_900 }), t)).toMatchObject({ renew: true, state: 'renewing' });
    expect(decideFencer(clock({ lastPingAt: 9_900, lastAttemptAt: 9_001 }), t).renew).toBe(false);
    expect(decideFencer(clock({ lastPingAt: 9_900, lastAttemptAt: 9_000 }), t).renew).toBe(true);
  });

  it('renews while the last ping is younger than agentStallMs, and stops at agentStallMs', () => {
    expect(decideFencer(clock({ lastPingAt: 10_000 - 2_999, lastAttemptAt: 8_000 }), t)).toMatchObject({ renew: true, state: 'renewing' });
    expect(decideFencer(clock({ lastPingAt: 10_000 - 3_000, lastAttemptAt: 8_000 }), t)).toMatchObject({ renew: false, state: 'agent-stalled' });
  });

  it('keeps renewing for a planned agent stop (hold) without pings, and counts the agent stalled once the hold ends', () => {
    const c = { lastPingAt: 1_000, lastAttemptAt: 9_000 };
    expect(decideFencer(clock({ ...c, holdUntil: 10_001 }), t)).toMatchObject({ renew: true, state: 'renewing' });
    expect(decideFencer(clock({ ...c, holdUntil: 10_000 }), t)).toMatchObject({ renew: false, state: 'agent-stalled' });
    // A hold does not keep a lease whose writes fail: the deadline still counts from the last timely renewal.
    expect(decideFencer(clock({ ...c, holdUntil: 20_000, lastGoodAt: 5_000 }), t)).toMatchObject({ fence: true, leaseValid: false });
  });

  it('does not pile writes up on a hung mount', () => {
    const c = { lastPingAt: 9_900, lastAttemptAt: 8_000 };
    expect(decideFencer(clock({ ...c, writesInFlight: MAX_WRITES_IN_FLIGHT - 1 }), t).renew).toBe(true);
    expect(decideFencer(clock({ ...c, writesInFlight: MAX_WRITES_IN_FLIGHT }), t)).toMatchObject({ renew: false, state: 'writes-stuck' });
  });

  it('neither renews nor fences once standing down', () => {
    const d = decideFencer(clock({ lastPingAt: 9_900, lastGoodAt: 0, standingDown: true }), t);
    expect(d).toMatchObject({ renew: false, state: 'standing-down', fence: false, leaseFresh: false });
  });
});

describe('decideFencer: fencing', () => {
  it('fences fenceAfterMs after the start of the last timely renewal, not before', () => {
    expect(decideFencer(clock({ now: 13_999, lastGoodAt: 10_000 }), t)).toMatchObject({ fence: false, leaseValid: true, fenceAt: 14_000 });
    expect(decideFencer(clock({ now: 14_000, lastGoodAt: 10_000 }), t)).toMatchObject({ fence: true, leaseValid: false, fenceAt: 14_000 });
  });

  it('counts from its own start while no renewal has ended in time', () => {
    expect(decideFencer(clock({ now: 3_999, startedAt: 0 }), t).fence).toBe(false);
    expect(decideFencer(clock({ now: 4_000, startedAt: 0 }), t).fence).toBe(true);
  });

  it('fences even while the agent still pings (storage gone) and keeps fencing while the lease is not valid', () => {
    for (const now of [14_000, 20_000, 1e9]) expect(decideFencer(clock({ now, lastGoodAt: 10_000, lastPingAt: now - 10 }), t)).toMatchObject({ fence: true, renew: true });
  });

  it('stops fencing once a renewal ends in time again', () => {
    expect(decideFencer(clock({ now: 30_000, lastGoodAt: 29_500 }), t)).toMatchObject({ fence: false, leaseValid: true });
  });
});

describe('decideFencer: lease freshness', () => {
  it('is fresh while the renewal due last has ended in time', () => {
    expect(decideFencer(clock({ now: 11_999, lastGoodAt: 10_000 }), t)).toMatchObject({ leaseFresh: true, renewalAgeMs: 1_999 });
    expect(decideFencer(clock({ now: 12_000, lastGoodAt: 10_000 }), t)).toMatchObject({ leaseFresh: false, leaseValid: true });
  });

  it('is not fresh without any timely renewal', () => {
    const d = decideFencer(clock({ now: 100, startedAt: 0 }), t);
    expect(d.leaseFresh).toBe(false);
    expect(d.renewalAgeMs).toBeUndefined();
  });
});

describe('decideFencer: invariants over every reading', () => {
  const readings = fc.record({
    now: fc.integer({ min: 0, max: 100_000 }),
    startedAt: fc.integer({ min: 0, max: 100_000 }),
    lastPingAt: fc.option(fc.integer({ min: 0, max: 100_000 }), { nil: undefined }),
    lastAttemptAt: fc.option(fc.integer({ min: 0, max: 100_000 }), { nil: undefined }),
    lastGoodAt: fc.option(fc.integer({ min: 0, max: 100_000 }), { nil: undefined }),
    writesInFlight: fc.integer({ min: 0, max: 5 }),
    standingDown: fc.boolean(),
  });
  const timings = fc.integer({ min: 100, max: 10_000 }).map((ms) => haTiming(ms));

  it('never fences while the lease is valid, never renews without a live agent, never calls a stale lease fresh', () => {
    fc.assert(
      fc.property(readings, timings, (r, h) => {
        const c = Object.fromEntries(Object.entries(r).filter(([, v]) => v !== undefined)) as unknown as FencerClock;
        const d = decideFencer(c, h);
        const base = c.lastGoodAt ?? c.startedAt;
        expect(d.fence).toBe(!c.standingDown && c.now - base >= h.fenceAfterMs);
        if (d.renew) {
          expect(c.lastPingAt).toBeDefined();
          expect(c.now - (c.lastPingAt as number)).toBeLessThan(h.agentStallMs);
          expect(c.standingDown).toBe(false);
        }
        if (d.leaseFresh) {
          expect(d.fence).toBe(false);
          expect(c.now - (c.lastGoodAt as number)).toBeLessThan(h.renewEveryMs + h.ioTimeoutMs);
        }
      }),
    );
  });
});

describe('afterRenewal', () => {
  it('takes the start of a write that ended within ioTimeoutMs', () => {
    expect(afterRenewal(undefined, { startedAt: 5_000, settledAt: 6_000, ok: true }, t)).toBe(5_000);
    expect(afterRenewal(4_000, { startedAt: 5_000, settledAt: 5_010, ok: true }, t)).toBe(5_000);
  });

  it('ignores a late write, a failed one, and one older than the last good one', () => {
    expect(afterRenewal(4_000, { startedAt: 5_000, settledAt: 6_001, ok: true }, t)).toBe(4_000);
    expect(afterRenewal(4_000, { startedAt: 5_000, settledAt: 5_010, ok: false }, t)).toBe(4_000);
    expect(afterRenewal(undefined, { startedAt: 5_000, settledAt: 7_000, ok: true }, t)).toBeUndefined();
    expect(afterRenewal(6_000, { startedAt: 5_000, settledAt: 5_900, ok: true }, t)).toBe(6_000);
  });
});

describe('inheritedLastGood', () => {
  it('takes over the deadline base of the fencer before on this boot', () => {
    expect(inheritedLastGood({ bootId: 'b1', lastGoodAt: 500 }, 'b1', 1_000)).toBe(500);
  });

  it('ignores a record of another boot, from the future, or unreadable', () => {
    expect(inheritedLastGood({ bootId: 'b0', lastGoodAt: 500 }, 'b1', 1_000)).toBeUndefined();
    expect(inheritedLastGood({ bootId: 'b1', lastGoodAt: 2_000 }, 'b1', 1_000)).toBeUndefined();
    expect(inheritedLastGood({ bootId: 'b1', lastGoodAt: Number.NaN }, 'b1', 1_000)).toBeUndefined();
    expect(inheritedLastGood(undefined, 'b1', 1_000)).toBeUndefined();
  });
});
