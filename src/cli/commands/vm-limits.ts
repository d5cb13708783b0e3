// `drover vm limits VM [--cpu-weight N] [--cpu-limit CORES] [--memory-limit SIZE]
// [--disk-iops R[/W]] [--disk-bandwidth SIZE[/SIZE]] [--clear]`: set or remove
// a VM's resource controls, live while it runs. A value of `none` removes that
// limit; limits not named keep their value; --clear removes all the others.
// Without flags it shows the limits and what its host has in force.
import type { Command } from 'commander';
import { setTimeout as sleep } from 'node:timers/promises';
import type { SetVmLimitsRequest } from '../../api/limits.js';
import type { Vm } from '../../api/resources.js';
import { action, type Ctx } from '../context.js';
import { writeLine, type CliIo } from '../io.js';
import { printJson, UsageError } from '../output.js';
import { LIMIT_FLAG_HELP, parseLimitFlags, type LimitFlags } from '../parse-limits.js';
import { appliedMatches, limitsDetail } from './limits-view.js';

export interface LimitsOptions extends LimitFlags {
  clear?: boolean;
}

/** Adds the limit flags to a command; `removable`: a value of none removes that limit. */
export function addLimitOptions(cmd: Command, removable: boolean): Command {
  for (const [flags, help] of LIMIT_FLAG_HELP) cmd.option(flags, removable ? `${help}; none removes it` : help);
  return cmd;
}

export function registerVmLimits(vm: Command, io: CliIo): void {
  const cmd = vm.command('limits')
    .description('Set or remove resource controls of a VM (CPU weight and cap, memory cap, disk I/O caps), live while it runs; without flags, show them')
    .argument('<name>', 'VM name or id');
  addLimitOptions(cmd, true)
    .option('--clear', 'remove every limit not given here')
    .addHelpText('after', '\nExamples:\n  drover vm limits web --cpu-limit 1 --memory-limit 1G\n  drover vm limits web --disk-iops 200/100 --disk-bandwidth 20M\n  drover vm limits web --cpu-limit none\n  drover vm limits web --clear')
    .action(action(io, vmLimits));
}

/** The request body from the flags, or undefined when none is given (show only); a bad flag is a UsageError before anything is sent. */
export function buildLimitsRequest(o: LimitsOptions): SetVmLimitsRequest | undefined {
  const { set, remove } = parseLimitFlags(o);
  if (Object.keys(set).length === 0 && remove.length === 0 && !o.clear) return undefined;
  return { ...(Object.keys(set).length ? { set } : {}), ...(remove.length ? { remove } : {}), ...(o.clear ? { clear: true } : {}) };
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
