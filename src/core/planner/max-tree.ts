// A max segment tree over hosts: the planner's index. Leaves are hosts in a
// chosen order (pack order), each with a key (free memory, or an HA key).
// Finding the first host in order whose key reaches a need, or visiting hosts
// by descending key, costs O(log H) per host found instead of a scan.

export class MaxTree {
  private readonly size: number;
  private readonly t: Float64Array;
  /** host -> leaf position, and leaf position -> host. */
  private readonly pos: Int32Array;
  private readonly order: Int32Array;

  /** `order`: the hosts (indexes below hostCount) that are leaves, in tree order; default all of them. */
  constructor(hostCount: number, order?: readonly number[]) {
    const n = order ? order.length : hostCount;
    let size = 1;
    while (size < Math.max(1, n)) size *= 2;
    this.size = size;
    this.t = new Float64Array(2 * size).fill(-Infinity);
    this.order = new Int32Array(size).fill(-1);
    this.pos = new Int32Array(hostCount).fill(-1);
    for (let p = 0; p < n; p++) {
      const host = order ? order[p]! : p;
      this.order[p] = host;
      this.pos[host] = p;
    }
  }

  has(host: number): boolean {
    return this.pos[host]! >= 0;
  }

  get(host: number): number {
    if (this.pos[host]! < 0) return -Infinity;
    return this.t[this.size + this.pos[host]!]!;
  }

  set(host: number, value: number): void {
    if (this.pos[host]! < 0) return;
    let i = this.size + this.pos[host]!;
    this.t[i] = value;
    for (i >>= 1; i >= 1; i >>= 1) {
      const m = Math.max(this.t[2 * i]!, this.t[2 * i + 1]!);
      if (this.t[i] === m) break;
      this.t[i] = m;
    }
  }

  max(): number {
    return this.t[1]!;
  }

  /** The first host at or after leaf position `from` (in tree order) whose key is >= need, or -1. */
  firstAtLeast(need: number, from = 0): number {
    if (from >= this.size || this.t[1]! < need) return -1;
    let i = this.size + from;
    if (this.t[i]! >= need) return this.order[from]!;
    for (;;) {
      while (i & 1) i >>= 1;
      if (i === 0) return -1;
      i++;
      if (this.t[i]! >= need) break;
    }
    while (i < this.size) {
      i *= 2;
      if (this.t[i]! < need) i++;
    }
    return this.order[i - this.size]!;
  }

  /** Leaf position of a host (for continuing firstAtLeast after it). */
  position(host: number): number {
    return this.pos[host]!;
  }

  /** Visits hosts by descending key (ties: the later host in tree order first) until `visit` returns false; skips -Infinity. */
  descending(visit: (host: number, key: number) => boolean): void {
    const heap = new NodeHeap(this.t);
    if (this.t[1]! > -Infinity) heap.push(1);
    while (heap.length > 0) {
      const i = heap.pop();
      if (i >= this.size) {
        if (!visit(this.order[i - this.size]!, this.t[i]!)) return;
        continue;
      }
      if (this.t[2 * i]! > -Infinity) heap.push(2 * i);
      if (this.t[2 * i + 1]! > -Infinity) heap.push(2 * i + 1);
    }
  }

  /** The k largest keys (descending) with their hosts. */
  top(k: number): { hosts: number[]; keys: number[] } {
    const hosts: number[] = [];
    const keys: number[] = [];
    if (k <= 0) return { hosts, keys };
    this.descending((h, key) => {
      hosts.push(h);
      keys.push(key);
      return hosts.length < k;
    });
    return { hosts, keys };
  }
}

/** A binary max-heap of tree nodes by their key; ties: the higher node index first, so equal keys lead straight down to a leaf. */
class NodeHeap {
  private readonly a: number[] = [];
  constructor(private readonly t: Float64Array) {}

  get length(): number {
    return this.a.length;
  }

  private above(x: number, y: number): boolean {
    const kx = this.t[x]!;
    const ky = this.t[y]!;
    return kx > ky || (kx === ky && x > y);
  }

  push(node: number): void {
    const a = this.a;
    a.push(node);
    let i = a.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!this.above(a[i]!, a[p]!)) break;
      [a[i], a[p]] = [a[p]!, a[i]!];
      i = p;
    }
  }

  pop(): number {
    const a = this.a;
    const top = a[0]!;
    const last = a.pop()!;
    if (a.length === 0) return top;
    a[0] = last;
    let i = 0;
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let m = i;
      if (l < a.length && this.above(a[l]!, a[m]!)) m = l;
      if (r < a.length && this.above(a[r]!, a[m]!)) m = r;
      if (m === i) return top;
      [a[i], a[m]] = [a[m]!, a[i]!];
      i = m;
    }
  }
}
