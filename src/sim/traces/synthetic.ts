// The seeded synthetic generators: diurnal (a daily cosine with a peak hour),
// bursty (a low base with bursts arriving at random), step (levels that
// change at given times, optionally every period). Each VM gets its own
// stream of random numbers, so its trace does not depend on the others.
import { HOUR, MINUTE } from '../clock.js';
import { Rng } from '../random.js';
import { clamp01, type Demand, type DemandTrace } from './types.js';

export interface DiurnalParams {
  /** CPU fraction at the trough and at the peak. */
  min: number;
  max: number;
  /** Hour of the day (0-24) of the peak, and a per-VM random shift of up to ± this many hours. */
  peakHour: number;
  jitterHours: number;
  /** Per-VM scale of the level, uniform in [1 - spread, 1 + spread]. */
  spread: number;
  /** Standard deviation of the per-step noise, as a CPU fraction. */
  noise: number;
  /** Memory fraction in use, and how much of it follows the daily curve (0: flat). */
  memory: number;
  memorySwing: number;
}

export interface BurstyParams {
  /** CPU fraction outside and during bursts. */
  base: number;
  burst: number;
  /** Mean bursts per day (Poisson arrivals) and mean burst length (exponential). */
  burstsPerDay: number;
  burstMinutes: number;
  noise: number;
  memory: number;
}

export interface StepLevel {
  atMs: number;
  cpu: number;
  memory?: number;
}

export interface StepParams {
  /** Sorted by atMs; before the first level, the first level holds. */
  levels: StepLevel[];
  /** The levels repeat with this period (ms), e.g. one day; absent: no repeat. */
  periodMs?: number;
  /** Each VM's change times shift by a random amount in [0, jitterMinutes]. */
  jitterMinutes: number;
  noise: number;
  memory: number;
}

export function diurnal(p: DiurnalParams, seed: number, key: string): DemandTrace {
  const rng = Rng.derive(seed, `diurnal:${key}`);
  const peak = p.peakHour + rng.uniform(-p.jitterHours, p.jitterHours);
  const scale = rng.uniform(1 - p.spread, 1 + p.spread);
  const memory = p.memory * rng.uniform(1 - p.spread / 2, 1 + p.spread / 2);
  return {
    at(tMs: number): Demand {
      const hours = tMs / HOUR;
      const shape = 0.5 + 0.5 * Math.cos((2 * Math.PI * (hours - peak)) / 24); // 1 at the peak, 0 at the trough
      const cpu = clamp01((p.min + (p.max - p.min) * shape) * scale + p.noise * rng.normal());
      return { cpu, memory: clamp01(memory + p.memorySwing * (shape - 0.5)) };
    },
  };
}

export function bursty(p: BurstyParams, seed: number, key: string): DemandTrace {
  const rng = Rng.derive(seed, `bursty:${key}`);
  const meanGapMs = (24 * HOUR) / Math.max(p.burstsPerDay, 1e-9);
  let nextStart = rng.exponential(meanGapMs);
  let end = -1;
  return {
    at(tMs: number): Demand {
      // Bursts that start and end between two calls are not seen (the trace is sampled at steps).
      while (nextStart <= tMs) {
        end = nextStart + rng.exponential(p.burstMinutes * MINUTE);
        nextStart = end + rng.exponential(meanGapMs);
      }
      const level = tMs < end ? p.burst : p.base;
      return { cpu: clamp01(level + p.noise * rng.normal()), memory: clamp01(p.memory) };
    },
  };
}

export function step(p: StepParams, seed: number, key: string): DemandTrace {
  const rng = Rng.derive(seed, `step:${key}`);
  const shiftMs = rng.uniform(0, p.jitterMinutes) * MINUTE;
  return {
    at(tMs: number): Demand {
      let t = tMs - shiftMs;
      if (p.periodMs) t = ((t % p.periodMs) + p.periodMs) % p.periodMs;
      const level = levelAt(p.levels, t);
      return { cpu: clamp01(level.cpu + p.noise * rng.normal()), memory: clamp01(level.memory ?? p.memory) };
    },
  };
}

function levelAt(levels: StepLevel[], t: number): StepLevel {
  let current = levels[0]!;
  for (const l of levels) {
    if (l.atMs > t) break;
    current = l;
  }
  return current;
}
