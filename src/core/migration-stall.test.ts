import { describe, expect, it } from 'vitest';
import { observeProgress, startStallWatch } from './migration-stall.js';

describe('migration stall watch', () => {
  it('stays quiet while bytes move, however slowly', () => {
    let w = startStallWatch(0);
    for (let t = 0, b = 0; t <= 100_000; t += 5_000, b += 1) {
      const r = observeProgress(w, b, t, 20_000);
      expect(r.stalled).toBeUndefined();
      w = r.watch;
    }
  });

  it('gives up once nothing moved for the timeout, naming how long', () => {
    let w = observeProgress(startStallWatch(0), 1000, 0, 20_000).watch;
    w = observeProgress(w, 1000, 19_999, 20_000).watch;
    expect(observeProgress(w, 1000, 19_999, 20_000).stalled).toBeUndefined();
    expect(observeProgress(w, 1000, 20_000, 20_000).stalled).toMatch(/no data moved .* for 20 s/);
  });

  it('counts a stall from the start when no byte ever moved', () => {
    const w = startStallWatch(5_000);
    expect(observeProgress(w, 0, 24_000, 20_000).stalled).toBeUndefined();
    expect(observeProgress(observeProgress(w, 0, 24_000, 20_000).watch, 0, 25_000, 20_000).stalled).toMatch(/20 s/);
  });
});
