// Overload: a ready host whose load is above what the headroom leaves it.
//   limit  L = 1 - headroom                   (load target of every host on)
//   excess x(h) = max(0, u(h) - L)            (u: load utilization, imbalance.ts)
//   hot    u(h) > L + headroom * hysteresis   (urgent: relieved whatever the imbalance)
// The balancer counts the excess a move removes as part of its benefit (a move
// off a host above its limit pays for itself by the overload it relieves), and
// once a pass has started it relieves every host down to L (the band between L
// and the hot level stops passes from re-starting on noise). Consolidation never
// fills a host above L; power-on wakes hosts for the excess no host on can take.
import type { Model } from './model.js';

/** The load utilization each host on should stay within. */
export function loadLimit(m: Model): number {
  return 1 - m.policy.headroom;
}

/** The utilization above which a host is relieved at once: the limit plus a band of headroom x hysteresis. */
export function hotLevel(m: Model): number {
  return loadLimit(m) + m.policy.headroom * m.policy.hysteresis;
}

export function excessOf(u: number, limit: number): number {
  return u > limit ? u - limit : 0;
}

/** The largest load utilization over ready hosts (0 with none). */
export function hottest(m: Model): number {
  let top = 0;
  for (let h = 0; h < m.H; h++) if (m.ready[h] && m.util(h) > top) top = m.util(h);
  return top;
}

/** Ready hosts above the limit, and their summed excess. */
export function overloadOf(m: Model, limit = loadLimit(m)): { hosts: number; excess: number } {
  let hosts = 0;
  let excess = 0;
  for (let h = 0; h < m.H; h++) {
    if (!m.ready[h]) continue;
    const x = excessOf(m.util(h), limit);
    if (x > 1e-9) {
      hosts++;
      excess += x;
    }
  }
  return { hosts, excess };
}
