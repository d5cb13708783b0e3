// `drover vm limits VM [--cpu-weight N] [--cpu-limit CORES] [--memory-limit SIZE]
// [--disk-iops R[/W]] [--disk-bandwidth SIZE[/SIZE]] [--clear]`: set or remove
// a VM's resource controls, live while it runs. A value of `none` removes that
// limit; limits not named keep their value; --clear removes all the others.
// Without flags it shows the limits and what its host has in force.
import type { Command } from 'commander';
import { setTimeout as sleep } from 'node:timers/promises';
import type { SetVmLimitsRequest } from '../../api/limits.js';
import type { Vm } from '../../api/resources.js';
import { LIMIT_RANGES, type LimitField, type ResourceLimits } from '../../core/resource-controls.js';
import { MiB, parseSize } from '../../core/units.js';
import { action, type Ctx } from '../context.js';
import { writeLine, type CliIo } from '../io.js';
import { printJson, UsageError } from '../output.js';
import { appliedMatches, limitsDetail } from './limits-view.js';

export interface LimitsOptions {
  cpuWeight?: string;
  cpuLimit?: string;
  memoryLimit?: string;
  diskIops?: string;
  diskBandwidth?: string;
  clear?: boolean;
}

export function registerVmLimits(vm: Command, io: CliIo): void {
  vm.command('limits')
    .description('Set or remove resource controls of a VM (CPU weight and cap, memory cap, disk I/O caps), live while it runs; without flags, show them')
    .argument('<name>', 'VM name or id')
    .option('--cpu-weight <n>', 'relative CPU share when VMs compete, 1-10000 (default 100); none removes it')
    .option('--cpu-limit <cores>', "hard CPU cap in cores, e.g. 0.5 or 2, at most the VM's vCPUs; none removes it")
    .option('--memory-limit <size>', 'hard cap on the memory QEMU is charged for (guest RAM and QEMU\'s own); plain number = MiB, or 1G; none removes it')
    .option('--disk-iops <r[/w]>', 'per disk: read[/write] operations per second (one number: both); none removes it')
    .option('--disk-bandwidth <size[/size]>', 'per disk: read[/write] bytes per second, e.g. 20M/10M (plain number = MiB/s); none removes it')
    .option('--clear', 'remove every limit not given here')
    .addHelpText('after', '\nExamples:\n  drover vm limits web --cpu-limit 1 --memory-limit 1G\n  drover vm limits web --disk-iops 200/100 --disk-bandwidth 20M\n  drover vm limits web --cpu-limit none\n  drover vm limits web --clear')
    .action(action(io, vmLimits));
}

const SIZE_FORMS = 'a size, plain number = MiB (e.g. 512, 1G, 20M), or none';

/** The request body from the flags, or undefined when none is given (show only); a bad flag is a UsageError before anything is sent. */
export function buildLimitsRequest(o: LimitsOptions): SetVmLimitsRequest | undefined {
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
  if (Object.keys(set).length === 0 && remove.length === 0 && !o.clear) return undefined;
  return { ...(Object.keys(set).length ? { set } : {}), ...(remove.length ? { remove } : {}), ...(o.clear ? { clear: true } : {}) };
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

async function vmLimits(ctx: Ctx, o: LimitsOptions, name: string): Promise<void> {
  if (!name.trim()) throw new UsageError('NAME is empty', 'NAME', 'a VM name or id');
  const body = buildLimitsRequest(o);
  const client = ctx.client();
  let vm = body ? await client.call('setVmLimits', { params: { name }, body }) : await client.call('getVm', { params: { name } });
  if (body) vm = await untilApplied(ctx, vm);
  if (ctx.json) return printJson(ctx.io.stdout, { name: vm.name, limits: vm.spec.limits ?? {}, appliedLimits: vm.appliedLimits });
  writeLine(ctx.io.stdout, limitsDetail(vm, body !== undefined));
}

const APPLY_WAIT_MS = 10_000;

/** A running VM: waits (up to 10 s) until its host reports the new limits in force, so what is printed is what holds. */
async function untilApplied(ctx: Ctx, vm: Vm): Promise<Vm> {
  const until = Date.now() + APPLY_WAIT_MS;
  let now = vm;
  while ((now.phase === 'Running' || now.phase === 'Paused') && !appliedMatches(now.spec.limits, now.appliedLimits) && Date.now() < until) {
    await sleep(300);
    now = await ctx.client().call('getVm', { params: { name: vm.id } });
  }
  return now;
}
