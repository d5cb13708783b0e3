// Per-VM CPU/memory series from public trace layouts (pure: text in, series
// out; the scenario loader reads the files). What is read, exactly:
//
// Azure Public Dataset (vm_cpu_readings-file-*.csv): comma-separated, no
// header (a header line is skipped), one row per VM per 5 minutes:
//   timestamp (s since the trace start), vm id, min cpu, max cpu, avg cpu (%)
// The series uses `avg cpu` / 100. The Azure readings carry no memory; the
// memory fraction comes from the scenario (`trace.memory`).
//
// Bitbrains GWA-T-12 (fastStorage/rnd, one file per VM, e.g. 1.csv):
// semicolon-separated (";" or ";\t"), a header line naming the columns:
//   Timestamp [ms]; CPU cores; CPU capacity provisioned [MHZ]; CPU usage [MHZ];
//   CPU usage [%]; Memory capacity provisioned [KB]; Memory usage [KB]; ...
// The series uses CPU usage [%] / 100 (or usage MHz / capacity MHz when the
// percentage column is absent) and Memory usage / Memory capacity
// provisioned. Despite its header the published timestamps are Unix seconds:
// values below 1e11 are read as seconds, larger ones as milliseconds. Disk
// and network columns are ignored.

export interface TraceSeries {
  /** The trace's VM id (Azure) or file name (Bitbrains). */
  id: string;
  /** Reading times, ms since the earliest reading of the whole set, ascending. */
  timesMs: number[];
  /** CPU fraction of the allocation, 0..1. */
  cpu: number[];
  /** Memory fraction of the allocation, 0..1 (Bitbrains only). */
  memory?: number[];
}

export class TraceFormatError extends Error {
  constructor(file: string, line: number, message: string) {
    super(`${file}:${line}: ${message}`);
    this.name = 'TraceFormatError';
  }
}

const pct = (x: number) => Math.min(1, Math.max(0, x / 100));

export function parseAzureCpuReadings(text: string, file: string): TraceSeries[] {
  const byVm = new Map<string, { t: number[]; cpu: number[] }>();
  const lines = text.split(/\r?\n/);
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!.trim();
    if (line === '' || line.startsWith('#')) continue;
    const f = line.split(',').map((s) => s.trim());
    if (i === 0 && !/^-?\d/.test(f[0] ?? '')) continue; // a header
    if (f.length < 5) throw new TraceFormatError(file, i + 1, `expected 5 columns (timestamp, vm id, min cpu, max cpu, avg cpu), found ${f.length}`);
    const t = num(f[0]!, 'timestamp', file, i + 1) * 1000;
    const avg = num(f[4]!, 'avg cpu', file, i + 1);
    const series = byVm.get(f[1]!) ?? { t: [], cpu: [] };
    byVm.set(f[1]!, series);
    series.t.push(t);
    series.cpu.push(pct(avg));
  }
  const out = [...byVm].map(([id, s]) => sorted(id, s.t, s.cpu));
  return rebase(out, file);
}

const BITBRAINS_COLUMNS = { time: 'timestamp [ms]', cpuPct: 'cpu usage [%]', cpuMhz: 'cpu usage [mhz]', capMhz: 'cpu capacity provisioned [mhz]', memKb: 'memory usage [kb]', memCapKb: 'memory capacity provisioned [kb]' };

export function parseBitbrainsVm(text: string, file: string, id: string): TraceSeries {
  const lines = text.split(/\r?\n/).filter((l) => l.trim() !== '');
  if (lines.length === 0) throw new TraceFormatError(file, 1, 'empty file; expected a header line "Timestamp [ms]; CPU cores; ..."');
  const head = lines[0]!.split(';').map((s) => s.trim().toLowerCase());
  const col = (name: string) => head.indexOf(name);
  const c = { time: col(BITBRAINS_COLUMNS.time), cpuPct: col(BITBRAINS_COLUMNS.cpuPct), cpuMhz: col(BITBRAINS_COLUMNS.cpuMhz), capMhz: col(BITBRAINS_COLUMNS.capMhz), memKb: col(BITBRAINS_COLUMNS.memKb), memCapKb: col(BITBRAINS_COLUMNS.memCapKb) };
  const missing = [['Timestamp [ms]', c.time], ['Memory usage [KB]', c.memKb], ['Memory capacity provisioned [KB]', c.memCapKb]].filter(([, i]) => i === -1).map(([n]) => n);
  if (c.cpuPct === -1 && (c.cpuMhz === -1 || c.capMhz === -1)) missing.push('CPU usage [%] (or CPU usage [MHZ] and CPU capacity provisioned [MHZ])');
  if (missing.length > 0) throw new TraceFormatError(file, 1, `header lacks ${missing.join(', ')}`);
  const t: number[] = [];
  const cpu: number[] = [];
  const memory: number[] = [];
  for (let i = 1; i < lines.length; i++) {
    const f = lines[i]!.split(';').map((s) => s.trim());
    const at = (k: number, name: string) => num(f[k] ?? '', name, file, i + 1);
    const ts = at(c.time, 'Timestamp');
    t.push(ts < 1e11 ? ts * 1000 : ts);
    cpu.push(c.cpuPct !== -1 ? pct(at(c.cpuPct, 'CPU usage [%]')) : ratio(at(c.cpuMhz, 'CPU usage [MHZ]'), at(c.capMhz, 'CPU capacity provisioned [MHZ]')));
    memory.push(ratio(at(c.memKb, 'Memory usage [KB]'), at(c.memCapKb, 'Memory capacity provisioned [KB]')));
  }
  if (t.length === 0) throw new TraceFormatError(file, 2, 'no readings after the header');
  return sorted(id, t, cpu, memory);
}

/** Makes times relative to the earliest reading of the whole set. */
export function rebase(series: TraceSeries[], what: string): TraceSeries[] {
  if (series.length === 0) throw new TraceFormatError(what, 1, 'no readings');
  const origin = series.reduce((m, s) => Math.min(m, s.timesMs[0]!), Infinity);
  return series.map((s) => ({ ...s, timesMs: s.timesMs.map((x) => x - origin) }));
}

function ratio(used: number, capacity: number): number {
  return capacity > 0 ? Math.min(1, Math.max(0, used / capacity)) : 0;
}

function num(text: string, name: string, file: string, line: number): number {
  const x = Number(text);
  if (text === '' || !Number.isFinite(x)) throw new TraceFormatError(file, line, `${name} "${text}" is not a number`);
  return x;
}

function sorted(id: string, t: number[], cpu: number[], memory?: number[]): TraceSeries {
  const order = t.map((_, i) => i).sort((a, b) => t[a]! - t[b]!);
  const pick = (xs: number[]) => order.map((i) => xs[i]!);
  return { id, timesMs: pick(t), cpu: pick(cpu), ...(memory ? { memory: pick(memory) } : {}) };
}
