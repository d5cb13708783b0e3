// Units: VMs that must share a host (joined by must-affinity groups) plan and
// move together. A unit whose members are also in one must-anti-affinity
// group can never be placed: `conflict` says which group.
import type { Model } from './model.js';

export interface Units {
  unitOf: Int32Array;
  members: number[][];
  /** Per unit: the id of a must-anti-affinity group two of its members share, else null. */
  conflict: Array<string | null>;
}

export function buildUnits(m: Model): Units {
  const parent = new Int32Array(m.V);
  for (let i = 0; i < m.V; i++) parent[i] = i;
  const find = (x: number): number => {
    while (parent[x] !== x) {
      parent[x] = parent[parent[x]!]!;
      x = parent[x]!;
    }
    return x;
  };
  for (const g of m.groups) {
    if (g.anti || !g.must || g.vms.length < 2) continue;
    for (const v of g.vms) {
      const a = find(g.vms[0]!);
      const b = find(v);
      if (a !== b) parent[Math.max(a, b)] = Math.min(a, b);
    }
  }
  const unitOf = new Int32Array(m.V);
  const members: number[][] = [];
  // Unit index of each root (roots are VM indexes), -1 until its first member is seen.
  const rootUnit = new Int32Array(m.V).fill(-1);
  for (let v = 0; v < m.V; v++) {
    const r = find(v);
    let u = rootUnit[r]!;
    if (u < 0) {
      u = rootUnit[r] = members.length;
      members.push([v]);
    } else members[u]!.push(v);
    unitOf[v] = u;
  }
  return { unitOf, members, conflict: members.map((list) => (list.length < 2 ? null : antiConflict(m, list))) };
}

function antiConflict(m: Model, list: number[]): string | null {
  if (list.length < 2) return null;
  const seen = new Set<number>();
  for (const v of list) {
    for (const g of m.vmGroups[v]!) {
      const info = m.groups[g]!;
      if (!info.anti || !info.must) continue;
      if (seen.has(g)) return info.id;
      seen.add(g);
    }
  }
  return null;
}
