// The `trace:` of a VM group: a synthetic generator with its parameters, or
// a CSV file in the Azure or Bitbrains layout (see traces/csv.ts).
import type { StepLevel } from '../traces/synthetic.js';
import { Fields, ScenarioError } from './fields.js';
import type { TraceSpec } from './types.js';

const KINDS = ['diurnal', 'bursty', 'step', 'csv'] as const;
const COMMON = ['kind', 'noise', 'memory'];

export function traceSpec(v: unknown, path: string): TraceSpec {
  const kind = Fields.of(v, path, ['kind', ...Object.keys(v ?? {})]).oneOf('kind', KINDS);
  switch (kind) {
    case 'diurnal':
      return diurnalSpec(Fields.of(v, path, [...COMMON, 'min', 'max', 'peakHour', 'jitterHours', 'spread', 'memorySwing']));
    case 'bursty':
      return burstySpec(Fields.of(v, path, [...COMMON, 'base', 'burst', 'burstsPerDay', 'burstMinutes']));
    case 'step':
      return stepSpec(Fields.of(v, path, [...COMMON, 'levels', 'period', 'jitterMinutes']));
    case 'csv':
      return csvSpec(Fields.of(v, path, ['kind', 'memory', 'format', 'file', 'dir', 'scale', 'offset']));
  }
}

const frac = (f: Fields, key: string, def: number | undefined) => f.num(key, def, { min: 0, max: 1 });

function diurnalSpec(f: Fields): TraceSpec {
  const min = frac(f, 'min', 0.1);
  const max = frac(f, 'max', 0.7);
  if (max < min) f.fail('max', `must be at least min (${min}), not ${max}`);
  return {
    kind: 'diurnal', min, max,
    peakHour: f.num('peakHour', 14, { min: 0, max: 24 }),
    jitterHours: f.num('jitterHours', 1, { min: 0, max: 12 }),
    spread: f.num('spread', 0.2, { min: 0, max: 1 }),
    noise: frac(f, 'noise', 0.03),
    memory: frac(f, 'memory', 0.5),
    memorySwing: frac(f, 'memorySwing', 0),
  };
}

function burstySpec(f: Fields): TraceSpec {
  return {
    kind: 'bursty',
    base: frac(f, 'base', 0.1),
    burst: frac(f, 'burst', 0.9),
    burstsPerDay: f.num('burstsPerDay', 4, { min: 0 }),
    burstMinutes: f.num('burstMinutes', 30, { min: 0 }),
    noise: frac(f, 'noise', 0.03),
    memory: frac(f, 'memory', 0.5),
  };
}

function stepSpec(f: Fields): TraceSpec {
  const levels = f.list('levels', true).map((x, i): StepLevel => {
    const l = Fields.of(x, `${f.field('levels')}[${i}]`, ['at', 'cpu', 'memory']);
    return { atMs: l.durationMs('at'), cpu: frac(l, 'cpu', undefined), ...(l.has('memory') ? { memory: frac(l, 'memory', 0) } : {}) };
  });
  if (levels.length === 0) f.fail('levels', 'must list at least one level (at, cpu)');
  levels.forEach((l, i) => {
    if (i > 0 && l.atMs <= levels[i - 1]!.atMs) throw new ScenarioError(`${f.field('levels')}[${i}].at`, 'must be later than the level before it');
  });
  const periodMs = f.has('period') ? f.durationMs('period') : undefined;
  if (periodMs !== undefined && periodMs <= 0) f.fail('period', 'must be longer than 0');
  return {
    kind: 'step', levels,
    ...(periodMs !== undefined ? { periodMs } : {}),
    jitterMinutes: f.num('jitterMinutes', 0, { min: 0 }),
    noise: frac(f, 'noise', 0),
    memory: frac(f, 'memory', 0.5),
  };
}

function csvSpec(f: Fields): TraceSpec {
  const format = f.oneOf('format', ['azure', 'bitbrains'] as const);
  const key = format === 'azure' ? 'file' : 'dir';
  const other = format === 'azure' ? 'dir' : 'file';
  if (f.has(other)) f.fail(other, `is not used by format ${format}; give ${key}: (${format === 'azure' ? 'one vm_cpu_readings CSV file' : 'a directory of per-VM CSV files'})`);
  return {
    kind: 'csv', format,
    path: f.str(key),
    memory: frac(f, 'memory', 0.5),
    scale: f.num('scale', 1, { min: 0 }),
    offsetMs: f.durationMs('offset', 0),
  };
}
