// Reading one YAML mapping with errors that name the field: every failure is
// a ScenarioError "vms[2].trace.kind: must be diurnal, bursty, step or csv".
// Unknown keys are errors too (a typo would otherwise be silently ignored).
import { parseSize } from '../../core/units.js';

export class ScenarioError extends Error {
  constructor(
    readonly field: string,
    readonly problem: string,
  ) {
    super(field ? `${field}: ${problem}` : problem);
    this.name = 'ScenarioError';
  }
}

export function oneOfText(values: readonly string[]): string {
  return values.length === 1 ? values[0]! : `${values.slice(0, -1).join(', ')} or ${values[values.length - 1]}`;
}

const DURATION_UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** "90s", "5m", "1h30m", "1d", "250ms"; a plain number is seconds. Null when it is not a duration. */
export function parseDurationMs(v: unknown): number | null {
  if (typeof v === 'number') return Number.isFinite(v) && v >= 0 ? v * 1000 : null;
  if (typeof v !== 'string' || !/^(\s*\d+(\.\d+)?\s*(ms|s|m|h|d)\s*)+$/.test(v)) return null;
  let total = 0;
  for (const m of v.matchAll(/(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)/g)) total += Number(m[1]) * DURATION_UNITS[m[2]!]!;
  return total;
}

interface NumOpts {
  min?: number;
  max?: number;
  integer?: boolean;
}

export class Fields {
  private constructor(
    readonly path: string,
    private readonly raw: Record<string, unknown>,
  ) {}

  /** `v` must be a mapping whose keys are all in `known`. */
  static of(v: unknown, path: string, known: readonly string[]): Fields {
    if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new ScenarioError(path, 'must be a mapping (key: value lines)');
    const raw = v as Record<string, unknown>;
    for (const k of Object.keys(raw)) {
      if (!known.includes(k)) throw new ScenarioError(at(path, k), `unknown field; known fields here: ${known.join(', ')}`);
    }
    return new Fields(path, raw);
  }

  field(key: string): string {
    return at(this.path, key);
  }

  has(key: string): boolean {
    return this.raw[key] !== undefined && this.raw[key] !== null;
  }

  get(key: string): unknown {
    return this.raw[key];
  }

  fail(key: string, problem: string): never {
    throw new ScenarioError(this.field(key), problem);
  }

  num(key: string, def: number | undefined, o: NumOpts = {}): number {
    if (!this.has(key)) return def ?? this.fail(key, 'is required');
    const v = this.raw[key];
    if (typeof v !== 'number' || !Number.isFinite(v)) return this.fail(key, `must be a number, not ${JSON.stringify(v)}`);
    if (o.integer && !Number.isInteger(v)) this.fail(key, `must be a whole number, not ${v}`);
    if (o.min !== undefined && v < o.min) this.fail(key, `must be at least ${o.min}, not ${v}`);
    if (o.max !== undefined && v > o.max) this.fail(key, `must be at most ${o.max}, not ${v}`);
    return v;
  }

  int(key: string, def: number | undefined, min = 0, max = Number.MAX_SAFE_INTEGER): number {
    return this.num(key, def, { integer: true, min, max });
  }

  str(key: string, def?: string): string {
    if (!this.has(key)) return def ?? this.fail(key, 'is required');
    const v = this.raw[key];
    if (typeof v !== 'string' || v === '') return this.fail(key, 'must be a non-empty string');
    return v;
  }

  oneOf<T extends string>(key: string, values: readonly T[], def?: T): T {
    if (!this.has(key) && def !== undefined) return def;
    const v = this.raw[key];
    if (typeof v !== 'string' || !values.includes(v as T)) return this.fail(key, `must be ${oneOfText(values)}${this.has(key) ? `, not ${JSON.stringify(v)}` : ''}`);
    return v as T;
  }

  bool(key: string, def: boolean): boolean {
    if (!this.has(key)) return def;
    const v = this.raw[key];
    if (typeof v !== 'boolean') return this.fail(key, `must be true or false, not ${JSON.stringify(v)}`);
    return v;
  }

  durationMs(key: string, def?: number): number {
    if (!this.has(key)) return def ?? this.fail(key, 'is required (a duration such as 90s, 5m, 2h, 1d)');
    const ms = parseDurationMs(this.raw[key]);
    if (ms === null) return this.fail(key, `must be a duration such as 90s, 5m, 2h, 1d (a plain number is seconds), not ${JSON.stringify(this.raw[key])}`);
    return ms;
  }

  /** A size: "4GiB", "512M"; a plain number is MiB. Returns MiB. */
  sizeMiB(key: string, def?: number): number {
    if (!this.has(key)) return def ?? this.fail(key, 'is required (a size such as 4GiB or 512M; a plain number is MiB)');
    const v = this.raw[key];
    const parsed = typeof v === 'number' ? parseSize(String(v), 'm') : typeof v === 'string' ? parseSize(v, 'm') : null;
    if (!parsed?.ok) return this.fail(key, parsed ? parsed.reason : 'must be a size such as 4GiB or 512M');
    return Math.max(1, Math.round(parsed.bytes / 1048576));
  }

  /** A mapping of strings to strings (host labels). */
  labels(key: string): Record<string, string> {
    if (!this.has(key)) return {};
    const v = this.raw[key];
    if (typeof v !== 'object' || v === null || Array.isArray(v)) return this.fail(key, 'must be a mapping of label names to values');
    const out: Record<string, string> = {};
    for (const [k, x] of Object.entries(v)) {
      if (typeof x !== 'string' && typeof x !== 'number' && typeof x !== 'boolean') throw new ScenarioError(at(this.field(key), k), 'must be a string');
      out[k] = String(x);
    }
    return out;
  }

  list(key: string, required = false): unknown[] {
    if (!this.has(key)) return required ? this.fail(key, 'is required (a list)') : [];
    const v = this.raw[key];
    if (!Array.isArray(v)) return this.fail(key, 'must be a list');
    return v;
  }

  strings(key: string): string[] {
    return this.list(key).map((x, i) => {
      if (typeof x !== 'string' || x === '') throw new ScenarioError(`${this.field(key)}[${i}]`, 'must be a non-empty string');
      return x;
    });
  }
}

export function at(path: string, key: string): string {
  return path ? `${path}.${key}` : key;
}
