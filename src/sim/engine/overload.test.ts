// The simulator with the real planner through a morning ramp: the benchmark's
// mix (scenarios/day-1000x20000.yaml) at a fiftieth of its size. Consolidation
// packs the night onto hosts whose memory is nearly all allocated; when CPU
// demand rises, only hosts woken from standby have room, and the hosts that
// stayed on must be relieved onto them before they run out of CPU.
import { describe, expect, it } from 'vitest';
import { plan } from '../../core/planner/index.js';
import { loaded } from '../test-support/scenarios.js';
import { simulate } from './simulate.js';

const ramp = {
  name: 'ramp',
  seed: 42,
  duration: '14h',
  hosts: [{ name: 'h', count: 20, cpus: 64, memory: '768GiB', bootSeconds: 300, standbySeconds: 60, migrationBandwidthMiBs: 1200 }],
  vms: [
    { name: 'web', count: 160, cpus: 2, memory: '8GiB', groups: ['web-spread'], dirtyMiBs: 30, trace: { kind: 'diurnal', min: 0.05, max: 0.6, peakHour: 14, jitterHours: 1.5, noise: 0.03, memory: 0.6 } },
    { name: 'app', count: 120, cpus: 4, memory: '16GiB', dirtyMiBs: 50, trace: { kind: 'diurnal', min: 0.1, max: 0.5, peakHour: 15, noise: 0.05, memory: 0.5, memorySwing: 0.2 } },
    { name: 'batch', count: 60, cpus: 8, memory: '32GiB', dirtyMiBs: 150, trace: { kind: 'bursty', base: 0.1, burst: 0.9, burstsPerDay: 3, burstMinutes: 45, noise: 0.03, memory: 0.7 } },
    { name: 'db', count: 30, cpus: 8, memory: '64GiB', ha: true, priority: 10, groups: ['db-triples'], dirtyMiBs: 80, trace: { kind: 'diurnal', min: 0.2, max: 0.6, peakHour: 13, noise: 0.03, memory: 0.85 } },
    { name: 'dev', count: 30, cpus: 2, memory: '4GiB', trace: { kind: 'step', levels: [{ at: '0h', cpu: 0.02 }, { at: '9h', cpu: 0.4 }, { at: '18h', cpu: 0.02 }], period: '1d', jitterMinutes: 60, noise: 0.05, memory: 0.4 } },
  ],
  groups: [{ id: 'web-spread', kind: 'anti-affinity', strength: 'should', size: 4 }, { id: 'db-triples', kind: 'anti-affinity', strength: 'must', size: 3 }],
  policies: { placement: 'spread', headroom: 0.2, failures: 1, balance: { automation: 'automatic', threshold: 0.15, maxMoves: 50, cooldown: '1h' }, power: { enabled: true } },
};

describe('overload through a demand ramp, with the real planner', () => {
  it('wakes hosts for the load the hosts on cannot carry and relieves onto them: almost no CPU shortfall, nothing broken', () => {
    const r = simulate(loaded(ramp), { planner: plan });
    const t = r.totals;
    // Before relief (the balancer acting on the imbalance alone, consolidation on the total demand alone): 1.7 core-h.
    expect(t.cpuShortfallCoreHours).toBeLessThan(0.2);
    expect(t.violations.must).toBe(0);
    expect(t.doubleRuns).toBe(0);
    expect(t.energy.savedPct).toBeGreaterThan(40);
    // Hosts slept at night and woke for the day.
    expect(Math.min(...r.series.activeHosts)).toBeLessThan(12);
    expect(r.series.activeHosts.at(-1)).toBeGreaterThan(13);
  });
});
