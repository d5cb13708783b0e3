import { describe, expect, it } from 'vitest';
import { HOUR, MINUTE } from '../clock.js';
import { bursty, diurnal, step } from './synthetic.js';
import type { DemandTrace } from './types.js';

const DIURNAL = { min: 0.1, max: 0.7, peakHour: 14, jitterHours: 0, spread: 0, noise: 0, memory: 0.5, memorySwing: 0 };

function sample(t: DemandTrace, hours: number, stepMin = 5): number[] {
  const out: number[] = [];
  for (let m = 0; m < hours * 60; m += stepMin) out.push(t.at(m * MINUTE).cpu);
  return out;
}

describe('synthetic demand traces', () => {
  it('diurnal: peaks at the peak hour, bottoms out 12 hours away, between min and max', () => {
    const xs = sample(diurnal(DIURNAL, 1, 'vm-0'), 24, 60);
    expect(xs.indexOf(Math.max(...xs))).toBe(14);
    expect(xs.indexOf(Math.min(...xs))).toBe(2);
    expect(Math.max(...xs)).toBeCloseTo(0.7, 9);
    expect(Math.min(...xs)).toBeCloseTo(0.1, 9);
  });

  it('diurnal: noise and per-VM jitter stay within [0, 1] and differ per VM, same per seed', () => {
    const p = { ...DIURNAL, noise: 0.2, jitterHours: 2, spread: 0.3 };
    const a = sample(diurnal(p, 1, 'vm-0'), 24);
    expect(a.every((x) => x >= 0 && x <= 1)).toBe(true);
    expect(sample(diurnal(p, 1, 'vm-0'), 24)).toEqual(a);
    expect(sample(diurnal(p, 1, 'vm-1'), 24)).not.toEqual(a);
    expect(sample(diurnal(p, 2, 'vm-0'), 24)).not.toEqual(a);
  });

  it('diurnal: memory swings with the curve when asked', () => {
    const t = diurnal({ ...DIURNAL, memorySwing: 0.2 }, 1, 'vm-0');
    expect(t.at(14 * HOUR).memory).toBeCloseTo(0.6, 9);
    expect(t.at(2 * HOUR).memory).toBeCloseTo(0.4, 9);
  });

  it('bursty: mostly the base level, bursts about as often and long as asked', () => {
    const p = { base: 0.1, burst: 0.9, burstsPerDay: 6, burstMinutes: 60, noise: 0, memory: 0.3 };
    let high = 0;
    let starts = 0;
    let total = 0;
    for (let vm = 0; vm < 50; vm++) {
      const xs = sample(bursty(p, 5, `vm-${vm}`), 24 * 10);
      high += xs.filter((x) => x === 0.9).length;
      starts += xs.filter((x, i) => x === 0.9 && xs[i - 1] !== 0.9).length;
      total += xs.length;
      expect(xs.every((x) => x === 0.1 || x === 0.9)).toBe(true);
    }
    // 6 bursts a day of 60 minutes on average: about 6/(24+6) of the time, 6 starts a day per VM.
    expect(high / total).toBeGreaterThan(0.15);
    expect(high / total).toBeLessThan(0.25);
    expect(starts / (50 * 10)).toBeGreaterThan(4.5);
    expect(starts / (50 * 10)).toBeLessThan(7.5);
  });

  it('step: holds each level from its time, repeats with the period, shifts by the jitter', () => {
    const levels = [{ atMs: 0, cpu: 0.1 }, { atMs: 9 * HOUR, cpu: 0.8, memory: 0.9 }, { atMs: 18 * HOUR, cpu: 0.2 }];
    const t = step({ levels, periodMs: 24 * HOUR, jitterMinutes: 0, noise: 0, memory: 0.4 }, 1, 'vm-0');
    expect(t.at(8 * HOUR)).toEqual({ cpu: 0.1, memory: 0.4 });
    expect(t.at(9 * HOUR)).toEqual({ cpu: 0.8, memory: 0.9 });
    expect(t.at(20 * HOUR).cpu).toBe(0.2);
    expect(t.at(33 * HOUR).cpu).toBe(0.8); // 9 h on the next day
    const jittered = step({ levels, jitterMinutes: 60, noise: 0, memory: 0.4 }, 1, 'vm-3');
    const first = sample(jittered, 12).findIndex((x) => x === 0.8) * 5;
    expect(first).toBeGreaterThanOrEqual(9 * 60);
    expect(first).toBeLessThanOrEqual(10 * 60 + 5);
  });
});
