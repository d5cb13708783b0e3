// `drover resource-pool create|list|show|set|delete` (alias rpool): named
// shares of the cluster with a reservation, a limit and shares for CPU and
// memory, nested one level (docs/resource-pools.md). VMs join one with
// `drover vm create --resource-pool NAME` or `drover vm set VM --resource-pool NAME`.
import { Command } from 'commander';
import type { PoolField, ResourcePool, UpdateResourcePoolRequest } from '../../api/resource-pools.js';
import { SHARES_LEVELS, SHARES_RANGE, type Shares } from '../../core/resource-pools.js';
import { MiB, parseSize } from '../../core/units.js';
import { action, type Ctx } from '../context.js';
import { writeLine, type CliIo } from '../io.js';
import { printJson, printTable, renderFields, UsageError } from '../output.js';
import { parseName } from '../parse.js';

export interface PoolFlags {
  cpuReservation?: string;
  cpuLimit?: string;
  cpuShares?: string;
  memoryReservation?: string;
  memoryLimit?: string;
  memoryShares?: string;
}

const EXAMPLES = `
Examples:
  drover resource-pool create prod --cpu-reservation 4 --memory-reservation 8G
  drover resource-pool create gold --parent prod --cpu-reservation 2 --cpu-limit 8 --memory-reservation 4G --memory-limit 16G --cpu-shares high
  drover vm create web --resource-pool gold
  drover resource-pool set gold --memory-limit none --cpu-shares 1500`;

function poolOptions(cmd: Command, set: boolean): Command {
  const none = set ? "; 'none' removes it" : '';
  return cmd
    .option('--cpu-reservation <cores>', `vCPUs (1 vCPU = 1 core) the cluster keeps for the pool's VMs${none}`)
    .option('--cpu-limit <cores>', `vCPUs the pool's VMs may hold at most${none}`)
    .option('--cpu-shares <shares>', `low, normal (default), high or a number ${SHARES_RANGE.min}-${SHARES_RANGE.max}${set ? "; 'none' is normal" : ''}`)
    .option('--memory-reservation <size>', `memory the cluster keeps for the pool's VMs (plain number = MiB, or 512M, 4G)${none}`)
    .option('--memory-limit <size>', `memory the pool's VMs may hold at most${none}`)
    .option('--memory-shares <shares>', 'low, normal (default), high or a number (recorded; CPU shares are what hosts apply)');
}

export function resourcePoolCommand(io: CliIo): Command {
  const rp = new Command('resource-pool').alias('rpool').description('Resource pools: a share of the cluster with reservation, limit and shares for CPU and memory');
  poolOptions(rp.command('create').description('Create a resource pool (refused when its reservation does not fit)').argument('<name>', "pool name: 1-63 lowercase letters, digits and '-'")
    .option('--parent <pool>', 'put it in this top-level pool (one level of nesting)'), false)
    .addHelpText('after', EXAMPLES)
    .action(action(io, createPool));
  rp.command('list').alias('ls').description('List resource pools with reservation, limit, shares and use').action(action(io, listPools));
  rp.command('show').description('Show a resource pool: settings, use, VMs and child pools').argument('<name>', 'pool name').action(action(io, showPool));
  poolOptions(rp.command('set').description("Change a resource pool's settings (the others keep theirs)").argument('<name>', 'pool name'), true)
    .addHelpText('after', EXAMPLES)
    .action(action(io, setPool));
  rp.command('delete').description('Delete a resource pool (refused while it has VMs or child pools)').argument('<name>', 'pool name').action(action(io, deletePool));
  return rp;
}

function parseCores(text: string, option: string): number {
  const n = Number(text);
  if (text.trim() === '' || !Number.isFinite(n) || n < 0 || n > 100_000) throw new UsageError(`${option} "${text}" is not a number of cores`, option, 'a number of cores >= 0, e.g. 2 or 0.5');
  return n;
}

function parsePoolMemory(text: string, option: string): number {
  const allowed = 'a size in whole MiB; a plain number is MiB (e.g. 512, 512M, 4G)';
  const r = parseSize(text, 'm');
  if (!r.ok) throw new UsageError(`${option}: ${r.reason}`, option, allowed);
  if (r.bytes % MiB !== 0) throw new UsageError(`${option} "${text}" is not a whole number of MiB`, option, allowed);
  return r.bytes / MiB;
}

export function parseShares(text: string, option: string): Shares {
  if (text in SHARES_LEVELS) return text as Shares;
  const n = Number(text);
  if (Number.isInteger(n) && n >= SHARES_RANGE.min && n <= SHARES_RANGE.max) return n;
  throw new UsageError(`${option} "${text}" is not a share`, option, `low, normal, high or a whole number ${SHARES_RANGE.min}-${SHARES_RANGE.max}`);
}

type Setting = [flag: keyof PoolFlags, option: string, field: PoolField, parse: (t: string, o: string) => number | Shares];
const SETTINGS: Setting[] = [
  ['cpuReservation', '--cpu-reservation', 'cpu.reservationCores', parseCores],
  ['cpuLimit', '--cpu-limit', 'cpu.limitCores', parseCores],
  ['cpuShares', '--cpu-shares', 'cpu.shares', parseShares],
  ['memoryReservation', '--memory-reservation', 'memory.reservationMiB', parsePoolMemory],
  ['memoryLimit', '--memory-limit', 'memory.limitMiB', parsePoolMemory],
  ['memoryShares', '--memory-shares', 'memory.shares', parseShares],
];

/** The settings and removals the flags ask for; 'none' removes (only where `removable`). */
export function buildPoolSettings(o: PoolFlags, removable: boolean): UpdateResourcePoolRequest {
  const out: { cpu: Record<string, unknown>; memory: Record<string, unknown>; remove: PoolField[] } = { cpu: {}, memory: {}, remove: [] };
  for (const [flag, option, field, parse] of SETTINGS) {
    const text = o[flag];
    if (text === undefined) continue;
    const [part, key] = field.split('.') as ['cpu' | 'memory', string];
    if (text === 'none' && removable) out.remove.push(field);
    else out[part][key] = parse(text, option);
  }
  return {
    ...(Object.keys(out.cpu).length ? { cpu: out.cpu } : {}),
    ...(Object.keys(out.memory).length ? { memory: out.memory } : {}),
    ...(out.remove.length ? { remove: out.remove } : {}),
  } as UpdateResourcePoolRequest;
}

const cores = (n: number | undefined) => (n === undefined ? undefined : `${n}`);
const mib = (n: number | undefined) => (n === undefined ? undefined : n % 1024 === 0 && n > 0 ? `${n / 1024} GiB` : `${n} MiB`);
const shares = (s: Shares | undefined) => (s === undefined ? 'normal' : String(s));

function cpuText(p: ResourcePool): string {
  return `reservation ${cores(p.cpu.reservationCores) ?? 'none'}, limit ${cores(p.cpu.limitCores) ?? 'none'}, shares ${shares(p.cpu.shares)}; use ${p.use.cpus} vCPUs`;
}

function memoryText(p: ResourcePool): string {
  return `reservation ${mib(p.memory.reservationMiB) ?? 'none'}, limit ${mib(p.memory.limitMiB) ?? 'none'}, shares ${shares(p.memory.shares)}; use ${mib(p.use.memoryMiB) ?? '0 MiB'}`;
}

export function renderPool(p: ResourcePool): string {
  return renderFields([
    ['Name', p.name], ['Parent', p.parent ?? '(top-level)'],
    ['CPU', cpuText(p)], ['Memory', memoryText(p)],
    ['Held', `${p.held.cpus} vCPUs, ${mib(p.held.memoryMiB) ?? '0 MiB'} (the larger of reservation and use, child pools included)`],
    ['VMs', p.vms.join(', ') || '(none)'], ['Children', p.children.join(', ') || '(none)'],
  ]);
}

async function createPool(ctx: Ctx, o: PoolFlags & { parent?: string }, name: string): Promise<void> {
  parseName(name);
  const s = buildPoolSettings(o, false);
  const body = { name, ...(o.parent !== undefined ? { parent: parseName(o.parent, '--parent') } : {}), ...(s.cpu ? { cpu: s.cpu } : {}), ...(s.memory ? { memory: s.memory } : {}) };
  const p = await ctx.client().call('createResourcePool', { body });
  if (ctx.json) return printJson(ctx.io.stdout, p);
  writeLine(ctx.io.stdout, `Resource pool ${p.name} created${p.parent ? ` in ${p.parent}` : ''}: CPU ${cpuText(p)}; memory ${memoryText(p)}`);
}

async function setPool(ctx: Ctx, o: PoolFlags, name: string): Promise<void> {
  const body = buildPoolSettings(o, true);
  if (Object.keys(body).length === 0) throw new UsageError('nothing to change', '--cpu-reservation', SETTINGS.map((s) => s[1]).join(', '));
  const p = await ctx.client().call('updateResourcePool', { params: { name }, body });
  if (ctx.json) return printJson(ctx.io.stdout, p);
  writeLine(ctx.io.stdout, renderPool(p));
}

async function listPools(ctx: Ctx): Promise<void> {
  const pools = await ctx.client().call('listResourcePools');
  if (ctx.json) return printJson(ctx.io.stdout, pools);
  const rows = pools.map((p) => [p.name, p.parent, cores(p.cpu.reservationCores), cores(p.cpu.limitCores), shares(p.cpu.shares), String(p.use.cpus), mib(p.memory.reservationMiB), mib(p.memory.limitMiB), mib(p.use.memoryMiB) ?? '0 MiB', String(p.vms.length)]);
  printTable(ctx.io.stdout, ['name', 'parent', 'cpu-res', 'cpu-limit', 'cpu-shares', 'cpu-use', 'mem-res', 'mem-limit', 'mem-use', 'vms'], rows, 'No resource pools. Create one: drover resource-pool create NAME --cpu-reservation 2 --memory-reservation 4G');
}

async function showPool(ctx: Ctx, _o: object, name: string): Promise<void> {
  const p = await ctx.client().call('getResourcePool', { params: { name } });
  if (ctx.json) return printJson(ctx.io.stdout, p);
  writeLine(ctx.io.stdout, renderPool(p));
}

async function deletePool(ctx: Ctx, _o: object, name: string): Promise<void> {
  const p = await ctx.client().call('deleteResourcePool', { params: { name } });
  if (ctx.json) return printJson(ctx.io.stdout, p);
  writeLine(ctx.io.stdout, `Resource pool ${p.name} deleted`);
}
