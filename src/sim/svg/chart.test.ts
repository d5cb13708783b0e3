import { describe, expect, it } from 'vitest';
import { barChart, esc, lineChart, niceTicks } from './chart.js';

describe('SVG charts', () => {
  it('picks ticks at 1, 2 or 5 times a power of ten, up to the maximum', () => {
    expect(niceTicks(10)).toEqual([0, 2, 4, 6, 8, 10]);
    expect(niceTicks(7)).toEqual([0, 2, 4, 6, 8]);
    expect(niceTicks(0.9)).toEqual([0, 0.2, 0.4, 0.6, 0.8, 1]);
    expect(niceTicks(1000, 4)).toEqual([0, 500, 1000]);
    expect(niceTicks(0)).toEqual([0, 1]);
  });

  it('draws a line per series, a step line with a corner per change, and a legend for several', () => {
    const svg = lineChart([0, 1, 2], [{ name: 'a', values: [1, 2, 3] }, { name: 'b <&>', values: [3, 2, 1], step: true, dashed: true }], { title: 'T "x"', xLabel: 'hours', yLabel: 'n' });
    expect(svg.startsWith('<svg xmlns="http://www.w3.org/2000/svg"')).toBe(true);
    expect(svg.trimEnd().endsWith('</svg>')).toBe(true);
    const lines = [...svg.matchAll(/<polyline [^>]*points="([^"]*)"/g)].map((m) => m[1]!.split(' ').length);
    expect(lines).toEqual([3, 5]);
    expect(svg).toContain('stroke-dasharray="6 4"');
    expect(svg).toContain('b &lt;&amp;&gt;');
    expect(svg).toContain('T &quot;x&quot;');
    expect(svg).not.toMatch(/NaN|undefined|Infinity/);
  });

  it('draws one bar per value, labelled, and the same bytes for the same data', () => {
    const svg = barChart(['0', '1', '2'], [4, 0, 2], { title: 'B', xLabel: 'hour', yLabel: 'n' });
    expect(svg.match(/<rect x="[\d.]+" y="[\d.]+" width/g)).toHaveLength(3);
    expect(svg).toContain('>2</text>');
    expect(barChart(['0', '1', '2'], [4, 0, 2], { title: 'B', xLabel: 'hour', yLabel: 'n' })).toBe(svg);
    expect(esc('a&b')).toBe('a&amp;b');
  });
});
