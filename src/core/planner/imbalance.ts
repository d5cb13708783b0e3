// Imbalance (docs/planner.md): the population standard deviation, over the
// ready hosts, of each host's load utilization
//   u(h) = max(cpu load / physical CPUs, memory load / physical memory),
// where load is measured use (cpuUsage, memoryUsageMiB) when known, else the
// allocation, and physical means after the host's reservation (no overcommit).
// 0 is perfectly even; a host at 100% beside an idle one gives 0.5.
import type { Model } from './model.js';

export interface Spread {
  n: number;
  sum: number;
  sumSq: number;
}

export function spreadOf(m: Model): Spread {
  const s: Spread = { n: 0, sum: 0, sumSq: 0 };
  for (let h = 0; h < m.H; h++) {
    if (!m.ready[h]) continue;
    const u = m.util(h);
    s.n++;
    s.sum += u;
    s.sumSq += u * u;
  }
  return s;
}

export function stddev(s: Spread): number {
  if (s.n === 0) return 0;
  const mean = s.sum / s.n;
  return Math.sqrt(Math.max(0, s.sumSq / s.n - mean * mean));
}

/** The sum of squared deviations from the mean (n x variance): what one move changes, whatever the cluster size. */
export function squares(s: Spread): number {
  if (s.n === 0) return 0;
  return Math.max(0, s.sumSq - (s.sum * s.sum) / s.n);
}

/** The spread with host utilizations `before` replaced by `after`. */
export function replaced(s: Spread, before: number[], after: number[]): Spread {
  let { sum, sumSq } = s;
  for (const u of before) {
    sum -= u;
    sumSq -= u * u;
  }
  for (const u of after) {
    sum += u;
    sumSq += u * u;
  }
  return { n: s.n, sum, sumSq };
}

export function imbalance(m: Model): number {
  return stddev(spreadOf(m));
}
