// The benchmark result format of shared/design.md, a percentile helper and
// the printed table.
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { join } from 'node:path';

export interface Metric {
  value: number;
  unit: string;
  p50?: number;
  p95?: number;
  n?: number;
  note?: string;
}

export interface BenchResult {
  suite: string;
  startedAt: string;
  machine: { cpus: number; kvm: boolean };
  metrics: Record<string, Metric>;
}

export function percentile(values: number[], p: number): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const idx = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[idx]!;
}

/** A distribution metric: value is the p50. */
export function dist(values: number[], unit: string, note?: string): Metric {
  const round = (x: number) => Math.round(x * 10) / 10;
  return { value: round(percentile(values, 50)), unit, p50: round(percentile(values, 50)), p95: round(percentile(values, 95)), n: values.length, ...(note ? { note } : {}) };
}

/** `kvm`: whether guests run under KVM here (src/qemu/kvm-check.ts), not only whether /dev/kvm exists. */
export function newResult(suite: string, kvm: boolean): BenchResult {
  return { suite, startedAt: new Date().toISOString(), machine: { cpus: cpus().length, kvm }, metrics: {} };
}

/**
 * Writes bench/results/<suite>.json. `partial`: only some of the suite ran
 * (a filter); its metrics replace theirs in the last full result, marked with
 * this run's start, and the rest is kept.
 */
export function writeResult(r: BenchResult, partial = false): string {
  const dir = new URL('./results/', import.meta.url).pathname;
  mkdirSync(dir, { recursive: true });
  const file = join(dir, `${r.suite}.json`);
  let out = r;
  if (partial && existsSync(file)) {
    const previous = JSON.parse(readFileSync(file, 'utf8')) as BenchResult;
    const marked = Object.fromEntries(Object.entries(r.metrics).map(([k, m]) => [k, { ...m, note: `${m.note ? `${m.note}; ` : ''}run ${r.startedAt}` }]));
    out = { ...previous, metrics: { ...previous.metrics, ...marked } };
  }
  writeFileSync(file, JSON.stringify(out, null, 2) + '\n');
  return file;
}

export function printTable(r: BenchResult): void {
  const rows = Object.entries(r.metrics).map(([name, m]) => [
    name,
    `${m.value} ${m.unit}`,
    m.p50 !== undefined ? `${m.p50}` : '',
    m.p95 !== undefined ? `${m.p95}` : '',
    m.n !== undefined ? `${m.n}` : '',
  ]);
  const head = ['metric', 'value', 'p50', 'p95', 'n'];
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i]!.length)));
  const line = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i]!)).join('  ');
  console.log(`\n${r.suite} (${r.machine.cpus} cpus, kvm=${r.machine.kvm})`);
  console.log(line(head));
  console.log(widths.map((w) => '-'.repeat(w)).join('  '));
  for (const row of rows) console.log(line(row));
}
