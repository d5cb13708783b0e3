// How the CLI prints: plain-column tables, compact JSON (one line, so shell
// scripts can grep it), and errors that name the field and what it allows.
import Table from 'cli-table3';
import { ApiError, ErrorCode } from '../api/errors.js';
import { formatBytes } from '../core/units.js';
import { writeLine, type OutStream } from './io.js';

/** Bad input caught before anything is sent: exit code 2. */
export class UsageError extends Error {
  constructor(
    message: string,
    readonly field?: string,
    readonly allowed?: string,
  ) {
    super(message);
    this.name = 'UsageError';
  }
}

export const EXIT = { ok: 0, apiError: 1, usage: 2 } as const;

export function printError(stream: OutStream, err: unknown): number {
  const e = err instanceof Error ? err : new Error(String(err));
  writeLine(stream, `error: ${e.message}`);
  if (e instanceof ApiError || e instanceof UsageError) {
    if (e.field) writeLine(stream, `  field: ${e.field}`);
    if (e.allowed) writeLine(stream, `  allowed: ${e.allowed}`);
  }
  if (e instanceof ApiError && e.code === ErrorCode.unauthorized) {
    writeLine(stream, '  hint: check --token, DROVER_TOKEN or ~/.config/drover/config.json (`npm run up` rewrites it)');
  }
  return e instanceof UsageError ? EXIT.usage : EXIT.apiError;
}

export function printJson(stream: OutStream, value: unknown): void {
  writeLine(stream, JSON.stringify(value));
}

type Cell = string | number | boolean | null | undefined;

/** Columns without borders (like `docker ps`), header in capitals. */
export function renderTable(head: string[], rows: Cell[][]): string {
  const table = new Table({
    head: head.map((h) => h.toUpperCase()),
    chars: {
      top: '', 'top-mid': '', 'top-left': '', 'top-right': '',
      bottom: '', 'bottom-mid': '', 'bottom-left': '', 'bottom-right': '',
      left: '', 'left-mid': '', mid: '', 'mid-mid': '',
      right: '', 'right-mid': '', middle: '  ',
    },
    style: { 'padding-left': 0, 'padding-right': 0, head: [], border: [], compact: true },
  });
  for (const row of rows) table.push(row.map((c) => (c === undefined || c === null ? '-' : String(c))));
  return table.toString().split('\n').map((l) => l.trimEnd()).join('\n');
}

export function printTable(stream: OutStream, head: string[], rows: Cell[][], empty: string): void {
  writeLine(stream, rows.length === 0 ? empty : renderTable(head, rows));
}

/** Label/value lines, labels aligned. */
export function renderFields(fields: Array<[string, Cell]>): string {
  const width = Math.max(...fields.map(([k]) => k.length)) + 2;
  return fields.map(([k, v]) => `${`${k}:`.padEnd(width)}${v === undefined || v === null || v === '' ? '-' : String(v)}`).join('\n');
}

export function mib(memoryMiB: number): string {
  return formatBytes(memoryMiB * 1024 * 1024);
}

export { formatBytes };

/** "3s", "5m", "2h", "4d" since an ISO time, measured against `now`. */
export function age(iso: string | undefined, now = Date.now()): string {
  if (!iso) return '-';
  const s = Math.max(0, Math.round((now - Date.parse(iso)) / 1000));
  if (Number.isNaN(s)) return '-';
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m`;
  if (s < 86400) return `${Math.floor(s / 3600)}h`;
  return `${Math.floor(s / 86400)}d`;
}

export function seconds(ms: number): string {
  return `${(ms / 1000).toFixed(1)}s`;
}
