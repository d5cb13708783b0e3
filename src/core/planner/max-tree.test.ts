// The planner's index: first host in order with a key >= need, and hosts by descending key.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { MaxTree } from './max-tree.js';

describe('MaxTree', () => {
  it('agrees with a scan for firstAtLeast and descending order', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: -5, max: 20 }), { minLength: 1, maxLength: 40 }), fc.integer({ min: -5, max: 25 }), fc.nat(), (keys, need, from) => {
        const order = keys.map((_, i) => i).reverse();
        const t = new MaxTree(keys.length, order);
        keys.forEach((k, h) => t.set(h, k));
        const start = from % keys.length;
        const expected = order.slice(start).find((h) => keys[h]! >= need) ?? -1;
        expect(t.firstAtLeast(need, start)).toBe(expected);
        const seen: number[] = [];
        t.descending((_h, key) => (seen.push(key), true));
        expect(seen).toEqual([...keys].sort((a, b) => b - a));
        expect(t.top(2).keys).toEqual(seen.slice(0, 2));
      }),
    );
  });

  it('leaves hosts outside a subset index alone', () => {
    const t = new MaxTree(5, [3, 1]);
    t.set(0, 100);
    t.set(1, 7);
    expect(t.max()).toBe(7);
    expect(t.has(0)).toBe(false);
    expect(t.get(0)).toBe(-Infinity);
  });
});
