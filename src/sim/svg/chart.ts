// A small SVG chart writer (no dependencies): line charts over time and bar
// charts, with axes, "nice" ticks, a title and a legend. Output is a string;
// numbers are printed with fixed decimals so the same data gives the same
// bytes.

export interface LineSeries {
  name: string;
  values: number[];
  color?: string;
  /** Draw as a step function (the value holds until the next point). */
  step?: boolean;
  dashed?: boolean;
}

export interface ChartOptions {
  title: string;
  xLabel: string;
  yLabel: string;
  width?: number;
  height?: number;
  /** Fix the y range (else 0 .. a nice maximum of the data). */
  yMax?: number;
}

export const PALETTE = ['#1f77b4', '#d62728', '#2ca02c', '#ff7f0e', '#9467bd', '#8c564b', '#e377c2', '#7f7f7f'];
const M = { left: 64, right: 16, top: 46, bottom: 46 };

export function esc(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

export const f2 = (x: number) => (Math.round(x * 100) / 100).toFixed(2).replace(/\.?0+$/, '') || '0';

/** Ticks at 1, 2 or 5 times a power of ten, from 0 to at least `max`. */
export function niceTicks(max: number, count = 5): number[] {
  if (!(max > 0)) return [0, 1];
  const raw = max / count;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((k) => k * mag).find((s) => s >= raw)!;
  const ticks: number[] = [];
  for (let i = 0; i * step < max + step * 0.999; i++) ticks.push(Number((i * step).toPrecision(12)));
  return ticks;
}

export interface Frame {
  x: (v: number) => number;
  y: (v: number) => number;
  parts: string[];
  width: number;
  height: number;
}

/** The frame: background, title, axes with ticks and labels. */
export function frame(o: ChartOptions, xMax: number, yMaxData: number, xMin = 0, xTickLabels = true): Frame {
  const width = o.width ?? 720;
  const height = o.height ?? 300;
  const yTicks = niceTicks(o.yMax ?? yMaxData);
  const yTop = o.yMax ?? yTicks[yTicks.length - 1]!;
  const xTicks = niceTicks(xMax - xMin, 8).map((t) => t + xMin).filter((t) => t <= xMax + 1e-9);
  const pw = width - M.left - M.right;
  const ph = height - M.top - M.bottom;
  const x = (v: number) => M.left + ((v - xMin) / Math.max(xMax - xMin, 1e-9)) * pw;
  const y = (v: number) => M.top + ph - (Math.min(v, yTop) / Math.max(yTop, 1e-9)) * ph;
  const parts = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="11">`,
    `<rect width="${width}" height="${height}" fill="#fff"/>`,
    `<text x="${width / 2}" y="18" text-anchor="middle" font-size="14" font-weight="bold">${esc(o.title)}</text>`,
  ];
  for (const t of yTicks) {
    parts.push(`<line x1="${M.left}" x2="${width - M.right}" y1="${f2(y(t))}" y2="${f2(y(t))}" stroke="#e5e5e5"/>`);
    parts.push(`<text x="${M.left - 6}" y="${f2(y(t) + 4)}" text-anchor="end">${f2(t)}</text>`);
  }
  if (xTickLabels) for (const t of xTicks) parts.push(`<text x="${f2(x(t))}" y="${height - M.bottom + 16}" text-anchor="middle">${f2(t)}</text>`);
  parts.push(`<line x1="${M.left}" x2="${width - M.right}" y1="${M.top + ph}" y2="${M.top + ph}" stroke="#333"/>`);
  parts.push(`<line x1="${M.left}" x2="${M.left}" y1="${M.top}" y2="${M.top + ph}" stroke="#333"/>`);
  parts.push(`<text x="${M.left + pw / 2}" y="${height - 8}" text-anchor="middle">${esc(o.xLabel)}</text>`);
  parts.push(`<text transform="translate(14 ${M.top + ph / 2}) rotate(-90)" text-anchor="middle">${esc(o.yLabel)}</text>`);
  return { x, y, parts, width, height };
}

export function legend(fr: Frame, names: Array<{ name: string; color: string }>): void {
  let lx = M.left + 8;
  for (const n of names) {
    fr.parts.push(`<rect x="${lx}" y="26" width="10" height="10" fill="${n.color}"/>`);
    fr.parts.push(`<text x="${lx + 14}" y="35">${esc(n.name)}</text>`);
    lx += 24 + n.name.length * 6.5;
  }
}

/** Lines over x values (e.g. hours). */
export function lineChart(xs: number[], series: LineSeries[], o: ChartOptions): string {
  const yMax = series.reduce((m, s) => s.values.reduce((a, v) => (Number.isFinite(v) ? Math.max(a, v) : a), m), 0);
  const fr = frame(o, xs.length > 0 ? xs[xs.length - 1]! : 1, yMax, xs[0] ?? 0);
  series.forEach((s, i) => {
    const color = s.color ?? PALETTE[i % PALETTE.length]!;
    const pts: string[] = [];
    s.values.forEach((v, k) => {
      if (s.step && k > 0) pts.push(`${f2(fr.x(xs[k]!))},${f2(fr.y(s.values[k - 1]!))}`);
      pts.push(`${f2(fr.x(xs[k]!))},${f2(fr.y(v))}`);
    });
    const dash = s.dashed ? ' stroke-dasharray="6 4"' : '';
    fr.parts.push(`<polyline fill="none" stroke="${color}" stroke-width="1.5"${dash} points="${pts.join(' ')}"/>`);
  });
  if (series.length > 1) legend(fr, series.map((s, i) => ({ name: s.name, color: s.color ?? PALETTE[i % PALETTE.length]! })));
  return `${fr.parts.join('\n')}\n</svg>\n`;
}

/** Bars over categories (e.g. hours, or utilization buckets), labelled below. */
export function barChart(labels: string[], values: number[], o: ChartOptions & { color?: string }): string {
  const yMax = values.reduce((a, v) => Math.max(a, v), 0);
  const n = Math.max(1, values.length);
  const fr = frame(o, n, yMax, 0, false);
  // Each bar gets its label (thinned to about 24 labels).
  const every = Math.ceil(n / 24);
  values.forEach((v, i) => {
    const x0 = fr.x(i) + 1;
    const w = Math.max(1, fr.x(i + 1) - fr.x(i) - 2);
    fr.parts.push(`<rect x="${f2(x0)}" y="${f2(fr.y(v))}" width="${f2(w)}" height="${f2(fr.y(0) - fr.y(v))}" fill="${o.color ?? PALETTE[0]}"/>`);
    if (i % every === 0) fr.parts.push(`<text x="${f2(x0 + w / 2)}" y="${fr.height - 46 + 16}" text-anchor="middle">${esc(labels[i] ?? '')}</text>`);
  });
  return `${fr.parts.join('\n')}\n</svg>\n`;
}
