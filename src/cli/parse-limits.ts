// User input for per-VM resource controls, shared by `drover vm limits` and
// `drover vm create`: --cpu-weight, --cpu-limit, --memory-limit, --disk-iops,
// --disk-bandwidth. Every failure is a UsageError naming the option and what
// it allows, raised before any call.
import { LIMIT_RANGES, type LimitField, type ResourceLimits } from '../core/resource-controls.js';
import { MiB, parseSize } from '../core/units.js';
import { UsageError } from './output.js';

export interface LimitFlags {
  cpuWeight?: string;
  cpuLimit?: string;
  memoryLimit?: string;
  diskIops?: string;
  diskBandwidth?: string;
}

/** The flags as [option, help] in the order they are listed; `none removes it` is added where a limit can be removed. */
export const LIMIT_FLAG_HELP: ReadonlyArray<readonly [string, string]> = [
  ['--cpu-weight <n>', 'relative CPU share when VMs compete, 1-10000 (default 100)'],
  ['--cpu-limit <cores>', "hard CPU cap in cores, e.g. 0.5 or 2, at most the VM's vCPUs"],
  ['--memory-limit <size>', "hard cap on the memory QEMU is charged for (guest RAM and QEMU's own); plain number = MiB, or 1G"],
  ['--disk-iops <r[/w]>', 'per disk: read[/write] operations per second (one number: both)'],
  ['--disk-bandwidth <size[/size]>', 'per disk: read[/write] bytes per second, e.g. 20M/10M (plain number = MiB/s)'],
];

const SIZE_FORMS = 'a size, plain number = MiB (e.g. 512, 1G, 20M), or none';

/** The limits the flags set, and the ones they remove (`none`). */
export function parseLimitFlags(o: LimitFlags): { set: ResourceLimits; remove: LimitField[] } {
  const set: ResourceLimits = {};
  const remove: LimitField[] = [];
  const put = (field: LimitField, v: number | null) => (v === null ? remove.push(field) : (set[field] = v));
  if (o.cpuWeight !== undefined) put('cpuWeight', parseLimit(o.cpuWeight, '--cpu-weight', 'cpuWeight', Number));
  if (o.cpuLimit !== undefined) put('cpuLimitCores', parseLimit(o.cpuLimit, '--cpu-limit', 'cpuLimitCores', Number));
  if (o.memoryLimit !== undefined) put('memoryLimitMiB', parseLimit(o.memoryLimit, '--memory-limit', 'memoryLimitMiB', (t) => sizeIn(t, MiB), SIZE_FORMS));
  if (o.diskIops !== undefined) {
    const [r, w] = pair(o.diskIops, '--disk-iops');
    put('diskReadIops', parseLimit(r, '--disk-iops', 'diskReadIops', Number));
    put('diskWriteIops', parseLimit(w, '--disk-iops', 'diskWriteIops', Number));
  }
  if (o.diskBandwidth !== undefined) {
    const [r, w] = pair(o.diskBandwidth, '--disk-bandwidth');
    put('diskReadBytesPerSec', parseLimit(r, '--disk-bandwidth', 'diskReadBytesPerSec', (t) => sizeIn(t, 1), SIZE_FORMS));
    put('diskWriteBytesPerSec', parseLimit(w, '--disk-bandwidth', 'diskWriteBytesPerSec', (t) => sizeIn(t, 1), SIZE_FORMS));
  }
  return { set, remove };
}

const OPTION_OF: Record<LimitField, string> = {
  cpuWeight: '--cpu-weight',
  cpuLimitCores: '--cpu-limit',
  memoryLimitMiB: '--memory-limit',
  diskReadIops: '--disk-iops',
  diskWriteIops: '--disk-iops',
  diskReadBytesPerSec: '--disk-bandwidth',
  diskWriteBytesPerSec: '--disk-bandwidth',
};

/** The limits of a new VM (`drover vm create`); undefined when no flag is given. A new VM has no limit to remove: `none` is refused. */
export function parseCreateLimits(o: LimitFlags): ResourceLimits | undefined {
  const { set, remove } = parseLimitFlags(o);
  const removed = remove[0];
  if (removed) {
    const option = OPTION_OF[removed];
    throw new UsageError(`${option} none: a new VM has no limit to remove; leave ${option} out for no cap`, option, 'a value (none only with drover vm limits)');
  }
  return Object.keys(set).length ? set : undefined;
}

/** "R/W" or one value for both. */
function pair(text: string, option: string): [string, string] {
  const parts = text.split('/');
  if (parts.length > 2 || parts.some((p) => p.trim() === '')) throw new UsageError(`${option} "${text}" is not READ or READ/WRITE`, option, 'READ or READ/WRITE, e.g. 200 or 200/100; none removes a limit');
  return [parts[0]!, parts[1] ?? parts[0]!];
}

/** A size in `unit`s (plain numbers are MiB); NaN when it is not a size. */
function sizeIn(text: string, unit: number): number {
  const r = parseSize(text, 'm');
  return r.ok ? r.bytes / unit : Number.NaN;
}

/** `none` is null (remove the limit); anything else must be in the field's range. */
function parseLimit(text: string, option: string, field: LimitField, parse: (t: string) => number, forms?: string): number | null {
  if (text.trim().toLowerCase() === 'none') return null;
  const r = LIMIT_RANGES[field];
  const v = /^\s*[\d.]+[a-zA-Z]*\s*$/.test(text) ? parse(text.trim()) : Number.NaN;
  const ok = Number.isFinite(v) && v >= r.min && v <= r.max && (!r.integer || Number.isInteger(v));
  const allowed = forms ?? `${r.integer ? 'a whole number' : 'a number'} from ${r.min} to ${r.max}, or none`;
  if (!ok) throw new UsageError(`${option} "${text}" is out of range or not a ${r.integer ? 'whole number' : 'number'} (${field} ${r.min}-${r.max})`, option, allowed);
  return v;
}
