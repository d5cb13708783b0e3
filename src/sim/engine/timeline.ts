// Things due at a time between steps, run in time order (ties in the order
// they were scheduled): scenario events, failure detection, VM arrivals and
// departures, power-ons planned for later.
export class Timeline {
  private items: Array<{ atMs: number; seq: number; run: () => void }> = [];
  private seq = 0;

  at(atMs: number, run: () => void): void {
    const item = { atMs, seq: this.seq++, run };
    // Few items are pending at once: an insertion keeps them sorted.
    let i = this.items.length;
    while (i > 0 && this.items[i - 1]!.atMs > atMs) i--;
    this.items.splice(i, 0, item);
  }

  nextMs(): number {
    return this.items.length > 0 ? this.items[0]!.atMs : Infinity;
  }

  /** Runs the first item if it is due by `ms`; returns whether one ran. */
  runOne(ms: number): boolean {
    const first = this.items[0];
    if (!first || first.atMs > ms) return false;
    this.items.shift();
    first.run();
    return true;
  }
}
