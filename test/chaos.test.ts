// The CI subset of the chaos runner (npm run chaos): on a three-host testbed
// (namespace mode as root, process mode otherwise) with two HA guests that
// keep writing counters, two hosts are killed at once (the fault suite's
// case 7), then a host is killed and the controller with it in the middle of
// the failover. Nothing may run twice, no acknowledged write may be lost,
// every guest must run again, and nothing may move that was not hit.
import { describe, expect, it } from 'vitest';
import { runChaos } from './chaos/run.js';

describe('chaos rounds (CI subset)', () => {
  it('two hosts killed at once, then a controller killed during a failover: no violation, every HA VM runs again once', async () => {
    const lines: string[] = [];
    const s = await runChaos({
      rounds: 2, seed: 7, hosts: 3, vms: 2, netns: process.getuid?.() === 0,
      faults: ['kill-two-hosts', 'kill-controller-in-failover'], cycle: true,
      log: (l) => lines.push(l),
    });
    const report = lines.join('\n');
    expect(s.rounds).toBe(2);
    expect(s.faults).toEqual({ 'kill-two-hosts': 1, 'kill-controller-in-failover': 1 });
    expect(s.violations, report).toEqual([]);
    expect(s.anomalies, report).toEqual([]);
    // Each round hit at least one host with a guest on it: at least one failover per round.
    for (const r of s.results) expect(r.failedOver.length, report).toBeGreaterThan(0);
  }, 900_000);
});
