// How a migration reads in the terminal: its live numbers, the summary at its
// end, a table row and the detail page.
import type { Migration, MigrationProgress } from '../api/migration.js';
import { MiB } from '../core/units.js';
import { age, formatBytes, renderFields, seconds } from './output.js';

const OVER: ReadonlySet<Migration['state']> = new Set(['completed', 'failed', 'cancelled']);

/** Completed, failed or cancelled: nothing will change any more. */
export function isOver(m: Migration): boolean {
  return OVER.has(m.state);
}

export function rate(bytesPerS: number): string {
  return `${(bytesPerS / MiB).toFixed(1)} MiB/s`;
}

export function millis(ms: number | undefined): string | undefined {
  return ms === undefined ? undefined : `${Math.round(ms)} ms`;
}

export function pathText(m: Migration): string {
  return m.path.length > 0 ? m.path.join(' → ') : '-';
}

/** The live numbers of a migration as short strings, for the bar and for lines. */
export interface ProgressFields {
  ram: string;
  remaining: string;
  dirty: string;
  throughput: string;
  downtime: string;
  passes: string;
  throttle: string;
  /** Empty unless the disks are mirrored (local storage). */
  disk: string;
}

export function progressFields(p: MigrationProgress | undefined): ProgressFields {
  if (!p) return { ram: '-', remaining: '-', dirty: '-', throughput: '-', downtime: '-', passes: '0', throttle: '0%', disk: '' };
  return {
    ram: `${formatBytes(p.transferredBytes)}/${formatBytes(p.totalBytes)}`,
    remaining: formatBytes(p.remainingBytes),
    dirty: rate(p.dirtyRateBytes),
    throughput: rate(p.throughputBytes),
    downtime: p.expectedDowntimeMs === undefined ? '-' : `~${millis(p.expectedDowntimeMs)}`,
    passes: String(p.passes),
    throttle: `${p.throttlePct}%`,
    disk: diskText(p),
  };
}

function diskText(p: MigrationProgress): string {
  if (p.diskTotalBytes === undefined || p.diskTotalBytes <= 0) return '';
  const copied = p.diskTotalBytes - (p.diskRemainingBytes ?? 0);
  return `${formatBytes(copied)}/${formatBytes(p.diskTotalBytes)} (${Math.floor((copied / p.diskTotalBytes) * 100)}%)`;
}

/** "RAM 10 MiB/256 MiB, 246 MiB left, dirty 1.0 MiB/s, sending 50.0 MiB/s, downtime ~40 ms, pass 1, throttle 0%, disk ..." */
export function progressText(p: MigrationProgress | undefined): string {
  if (!p) return '';
  const f = progressFields(p);
  const parts = [`RAM ${f.ram}`, `${f.remaining} left`, `dirty ${f.dirty}`, `sending ${f.throughput}`, `downtime ${f.downtime}`, `pass ${f.passes}`, `throttle ${f.throttle}`];
  if (f.disk) parts.push(`disk ${f.disk}`);
  return parts.join(', ');
}

/** Done and total units of the bar: RAM and (local storage) disk bytes already on the target. */
export function barValues(p: MigrationProgress | undefined): { value: number; total: number } {
  if (!p || p.totalBytes + (p.diskTotalBytes ?? 0) <= 0) return { value: 0, total: 1 };
  const ram = Math.max(0, p.totalBytes - p.remainingBytes);
  const disk = Math.max(0, (p.diskTotalBytes ?? 0) - (p.diskRemainingBytes ?? 0));
  return { value: ram + disk, total: p.totalBytes + (p.diskTotalBytes ?? 0) };
}

/** How long it took (the result's figure when there is one), or has taken so far. */
export function elapsedMs(m: Migration, now = Date.now()): number {
  if (m.result) return m.result.totalMs;
  return Math.max(0, (isOver(m) ? Date.parse(m.updatedAt) : now) - Date.parse(m.createdAt));
}

/** The line printed when a migration ends. */
export function summaryLine(m: Migration): string {
  const took = seconds(elapsedMs(m));
  if (m.state !== 'completed') {
    const where = m.path.includes('postcopy') ? `see: drover vm show ${m.vm}` : `VM ${m.vm} stays on ${m.source}`;
    return `Migration ${m.id} of VM ${m.vm} (${m.source} → ${m.target}) ${m.state} after ${took}, path ${pathText(m)}; ${where}`;
  }
  const r = m.result;
  const sent = r ? `, sent ${(r.transferredBytes / MiB).toFixed(1)} MiB (${r.ramBytes > 0 ? (r.transferredBytes / r.ramBytes).toFixed(1) : '-'} x RAM)` : '';
  const downtime = r ? `, downtime ${millis(r.downtimeMs)}` : '';
  return `VM ${m.vm} migrated ${m.source} → ${m.target}: completed in ${took}${downtime}${sent}, path ${pathText(m)}`;
}

export const MIGRATION_COLUMNS = ['id', 'vm', 'source → target', 'state', 'strategy', 'downtime', 'total time', 'path'];

export function migrationRow(m: Migration, now = Date.now()): Array<string | undefined> {
  return [m.id, m.vm, `${m.source} → ${m.target}`, m.state, m.strategy, millis(m.result?.downtimeMs), seconds(elapsedMs(m, now)), m.path.length ? pathText(m) : undefined];
}

export function renderMigration(m: Migration, now = Date.now()): string {
  const r = m.result;
  const options = [`max downtime ${m.maxDowntimeMs} ms`, `bandwidth ${m.bandwidthMiBs === undefined ? 'unlimited' : `${m.bandwidthMiBs} MiB/s`}`, `postcopy ${m.allowPostcopy ? 'allowed' : 'not allowed'}`, `timeout ${m.timeoutS}s`];
  return renderFields([
    ['ID', m.id],
    ['VM', m.vm],
    ['Source', m.source],
    ['Target', m.target],
    ['Storage', m.storage],
    ['Strategy', m.strategy],
    ['Options', options.join(', ')],
    ['State', m.state],
    ['Message', m.message],
    ['Progress', isOver(m) ? undefined : progressText(m.progress)],
    ['Path', pathText(m)],
    ['Downtime', millis(r?.downtimeMs)],
    ['Total time', seconds(elapsedMs(m, now))],
    ['Setup', millis(r?.setupMs)],
    ['Sent', r ? `${formatBytes(r.transferredBytes)} (RAM ${formatBytes(r.ramBytes)})${r.postcopy ? ', ended in postcopy' : ''}` : undefined],
    ['Error', m.error],
    ['Job', m.jobId],
    ['Created', `${m.createdAt} (${age(m.createdAt, now)} ago)`],
    ['Updated', `${m.updatedAt} (${age(m.updatedAt, now)} ago)`],
  ]);
}
