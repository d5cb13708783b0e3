// Finding a host for a set of VMs without scanning every host: candidates come
// from the free-memory index (pack: the first hosts in pack order with room;
// spread: the hosts with the most room), from the hosts a must label rule
// allows, from hosts of affine VMs, or only from the hosts that HA admission
// leaves possible. Each candidate is checked exactly; the best score wins.
import { affineHosts, needOf, penalty, ruleMatches, utilAfter, violation, type Need } from './constraints.js';
import { haScope, haTopHosts, type HaView } from './ha.js';
import type { MaxTree } from './max-tree.js';
import type { Model } from './model.js';

const SPREAD_CANDIDATES = 6;
const PACK_CANDIDATES = 4;

export type Mode = 'spread' | 'pack';

export interface Choice {
  host: number;
  score: number;
  penalty: number;
}

/** Indexes over the hosts a must/should rule set allows, built once per plan. */
export type SearchCache = Map<string, MaxTree>;

class Best {
  choice: Choice | null = null;
  feasible = 0;
  private readonly seen = new Set<number>();
  constructor(private readonly m: Model, private readonly need: Need, private readonly ha: HaView, private readonly mode: Mode) {}

  consider(h: number): void {
    if (this.seen.has(h)) return;
    this.seen.add(h);
    if (violation(this.m, this.need, h, this.ha) !== null) return;
    this.feasible++;
    const p = penalty(this.m, this.need, h);
    const score = this.mode === 'pack' ? p * 1e9 + this.m.fit.position(h) : utilAfter(this.m, this.need, h) + p;
    const c = this.choice;
    if (!c || score < c.score || (score === c.score && h < c.host)) this.choice = { host: h, score, penalty: p };
  }

  done(): boolean {
    if (this.mode === 'pack') return this.feasible >= PACK_CANDIDATES || (this.choice !== null && this.choice.penalty === 0);
    return this.feasible >= SPREAD_CANDIDATES;
  }
}

/** The host placed members of the need's must-affinity groups are on: -1 none, -2 more than one. */
export function mustAnchor(m: Model, need: Need): number {
  let anchor = -1;
  for (const { g } of need.groups) {
    const info = m.groups[g]!;
    if (info.anti || !info.must || m.groupPlaced[g] === 0) continue;
    for (const v of info.vms) {
      const h = m.vmHost[v]!;
      if (h < 0) continue;
      if (anchor >= 0 && h !== anchor) return -2;
      anchor = h;
    }
  }
  return anchor;
}

function ruleIndex(m: Model, rules: Need['must'], cache: SearchCache): MaxTree {
  const key = JSON.stringify(rules);
  let tree = cache.get(key);
  if (!tree) {
    const hosts: number[] = [];
    for (let h = 0; h < m.H; h++) if (rules.every((r) => ruleMatches(m.snapshot.hosts[h]!.labels, r))) hosts.push(h);
    tree = m.subIndex(hosts);
    cache.set(key, tree);
  }
  return tree;
}

function scanIndex(m: Model, tree: MaxTree, need: Need, mode: Mode, best: Best): void {
  const threshold = (m.loadLimit === undefined ? need.mem : Math.min(need.mem, need.memLoad)) - 1e-6;
  if (mode === 'pack') {
    for (let h = tree.firstAtLeast(threshold); h >= 0 && !best.done(); h = tree.firstAtLeast(threshold, tree.position(h) + 1)) best.consider(h);
    return;
  }
  tree.descending((h, key) => {
    if (key < threshold) return false;
    best.consider(h);
    return !best.done();
  });
}

/** The best host for `need` under every must-constraint, or null when none will do. */
export function chooseHost(m: Model, need: Need, ha: HaView, mode: Mode, cache: SearchCache): Choice | null {
  const scope = haScope(ha, need);
  if (scope === 'none' || need.conflict !== null) return null;
  const best = new Best(m, need, ha, mode);
  const anchor = mustAnchor(m, need);
  if (anchor !== -1) {
    if (anchor >= 0) best.consider(anchor);
    return best.choice;
  }
  if (scope === 'top') {
    for (const h of haTopHosts(ha)) best.consider(h);
    return best.choice;
  }
  if (need.must.length > 0) {
    scanIndex(m, ruleIndex(m, need.must, cache), need, mode, best);
    return best.choice;
  }
  for (const h of affineHosts(m, need)) best.consider(h);
  if (need.should.length > 0) scanIndex(m, ruleIndex(m, need.should, cache), need, mode, best);
  if (!best.done()) scanIndex(m, m.fit, need, mode, best);
  return best.choice;
}

/** Convenience for one VM set: its need, then chooseHost. */
export function chooseFor(m: Model, members: number[], conflict: string | null, ha: HaView, mode: Mode, cache: SearchCache): { need: Need; choice: Choice | null } {
  const need = needOf(m, members, conflict);
  return { need, choice: chooseHost(m, need, ha, mode, cache) };
}
