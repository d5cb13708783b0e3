// A recorded series replayed as a DemandTrace: the reading at or before the
// simulated time holds until the next one; past the last reading the series
// starts again from its first (it loops), so a short sample can drive a
// day-long scenario.
import type { TraceSeries } from './csv.js';
import { clamp01, type Demand, type DemandTrace } from './types.js';

export interface ReplayParams {
  /** Memory fraction when the series has none (Azure). */
  memory: number;
  /** Multiplies the CPU fraction (then clamped to 1). */
  scale: number;
  /** Start this far into the trace (ms). */
  offsetMs: number;
}

export function replay(series: TraceSeries, p: ReplayParams): DemandTrace {
  const times = series.timesMs;
  const last = times[times.length - 1]!;
  // A reading covers the interval up to the next; the last one gets the median gap.
  const gap = times.length > 1 ? medianGap(times) : 1;
  const span = last + gap;
  return {
    at(tMs: number): Demand {
      const t = (tMs + p.offsetMs) % span;
      const i = indexAtOrBefore(times, t);
      return { cpu: clamp01(series.cpu[i]! * p.scale), memory: clamp01(series.memory ? series.memory[i]! : p.memory) };
    },
  };
}

function indexAtOrBefore(times: number[], t: number): number {
  let lo = 0;
  let hi = times.length - 1;
  if (t < times[0]!) return 0;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (times[mid]! <= t) lo = mid;
    else hi = mid - 1;
  }
  return lo;
}

function medianGap(times: number[]): number {
  const gaps = times.slice(1).map((t, i) => t - times[i]!).sort((a, b) => a - b);
  return Math.max(1, gaps[gaps.length >> 1]!);
}
