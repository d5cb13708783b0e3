// `drover vm migrate VM`: live-migrate a running VM and follow it to the end,
// or (--cancel) stop the migration in progress. Exit 0 when the migration
// completed (or, with --cancel, was cancelled), 1 otherwise.
import type { Command } from 'commander';
import { MIGRATION_STRATEGIES, MigrationLimits, type MigrateVmRequest, type Migration, type MigrationStrategy } from '../../api/migration.js';
import { action, type Ctx } from '../context.js';
import { writeLine, type CliIo } from '../io.js';
import { summaryLine } from '../migration-view.js';
import { watchMigration } from '../migration-watch.js';
import { printJson, UsageError } from '../output.js';
import { parseCount } from '../parse.js';

export interface MigrateOptions {
  to?: string;
  strategy?: string;
  maxDowntime?: string;
  bandwidth?: string;
  allowPostcopy?: boolean;
  timeout?: string;
  cancel?: boolean;
  wait: boolean;
}

const L = MigrationLimits;

export function registerVmMigrate(vm: Command, io: CliIo): void {
  vm.command('migrate')
    .description('Live-migrate a running VM to another host and follow it (--cancel stops one in progress)')
    .argument('<name>', 'VM name or id')
    .option('--to <host>', 'target host name or id (default: placement chooses)')
    .option('--strategy <strategy>', `${MIGRATION_STRATEGIES.join(', ')} (default auto: escalates until it converges)`)
    .option('--max-downtime <ms>', `longest pause of the guest allowed, ${L.minDowntimeMs}-${L.maxDowntimeMs} ms (default ${L.defaultDowntimeMs})`)
    .option('--bandwidth <MiB/s>', `cap on the transfer rate, ${L.minBandwidthMiBs}-${L.maxBandwidthMiBs} MiB/s (default unlimited)`)
    .option('--allow-postcopy', 'let auto switch to postcopy (shared storage only; see docs/migration.md)')
    .option('--timeout <seconds>', `give up, keeping the VM on its source, after ${L.minTimeoutS}-${L.maxTimeoutS} s (default ${L.defaultTimeoutS})`)
    .option('--cancel', "cancel the VM's migration in progress and wait until it ends")
    .option('--no-wait', 'return once the request is accepted')
    .action(action(io, (ctx, opts: MigrateOptions, name: string) => (opts.cancel ? cancelMigration(ctx, name, opts) : migrate(ctx, name, opts))));
}

/** The request body from the flags; every bad flag is a UsageError (exit 2) before anything is sent. */
export function buildMigrateRequest(o: MigrateOptions): MigrateVmRequest {
  const req: MigrateVmRequest = {};
  if (o.to !== undefined) {
    if (!o.to.trim()) throw new UsageError('--to is empty', '--to', 'a host name or id (see: drover host list)');
    req.to = o.to.trim();
  }
  if (o.strategy !== undefined) req.strategy = parseStrategy(o.strategy);
  if (o.maxDowntime !== undefined) req.maxDowntimeMs = parseCount(o.maxDowntime, '--max-downtime', L.minDowntimeMs, L.maxDowntimeMs);
  if (o.bandwidth !== undefined) req.bandwidthMiBs = parseCount(o.bandwidth, '--bandwidth', L.minBandwidthMiBs, L.maxBandwidthMiBs);
  if (o.timeout !== undefined) req.timeoutS = parseCount(o.timeout, '--timeout', L.minTimeoutS, L.maxTimeoutS);
  if (o.allowPostcopy) {
    if (req.strategy === 'precopy') throw new UsageError('--allow-postcopy contradicts --strategy precopy', '--allow-postcopy', 'with --strategy auto or postcopy');
    req.allowPostcopy = true;
  }
  return req;
}

function parseStrategy(text: string): MigrationStrategy {
  const s = MIGRATION_STRATEGIES.find((x) => x === text.trim().toLowerCase());
  if (!s) throw new UsageError(`--strategy "${text}" is not a strategy`, '--strategy', MIGRATION_STRATEGIES.join(', '));
  return s;
}

const CANCEL_CONFLICTS: Array<[keyof MigrateOptions, string]> = [
  ['to', '--to'], ['strategy', '--strategy'], ['maxDowntime', '--max-downtime'], ['bandwidth', '--bandwidth'], ['allowPostcopy', '--allow-postcopy'], ['timeout', '--timeout'],
];

function checkName(name: string): void {
  if (!name.trim()) throw new UsageError('NAME is empty', 'NAME', 'a VM name or id');
}

async function migrate(ctx: Ctx, name: string, opts: MigrateOptions): Promise<void> {
  checkName(name);
  const body = buildMigrateRequest(opts);
  const res = await ctx.client().call('migrateVm', { params: { name }, body });
  const m = res.migration;
  if (!opts.wait) {
    if (ctx.json) return printJson(ctx.io.stdout, res);
    return writeLine(ctx.io.stdout, `Migration ${m.id} of VM ${m.vm} (${m.source} → ${m.target}) is ${m.state}; follow it with: drover migration show ${m.id}`);
  }
  writeLine(ctx.io.stderr, `Migrating VM ${m.vm} ${m.source} → ${m.target} (migration ${m.id}, ${m.storage} storage, strategy ${m.strategy}); Ctrl-C stops watching, --cancel stops it`);
  finish(ctx, await watchMigration(ctx, m));
}

/** Prints the outcome; throws (exit 1) unless the migration completed. */
function finish(ctx: Ctx, m: Migration): void {
  if (ctx.json) printJson(ctx.io.stdout, m);
  else writeLine(ctx.io.stdout, summaryLine(m));
  if (m.state === 'completed') return;
  throw new Error(m.state === 'cancelled' ? `migration ${m.id} was cancelled${m.error ? `: ${m.error}` : ''}` : `migration ${m.id} failed: ${m.error ?? m.message ?? 'no reason given'}`);
}

async function cancelMigration(ctx: Ctx, name: string, opts: MigrateOptions): Promise<void> {
  checkName(name);
  const conflict = CANCEL_CONFLICTS.find(([key]) => opts[key] !== undefined);
  if (conflict) throw new UsageError(`--cancel cannot be combined with ${conflict[1]}`, conflict[1], 'with --cancel only --no-wait and --json');
  const m = await ctx.client().call('cancelMigration', { params: { name }, body: {} });
  if (!opts.wait) {
    if (ctx.json) return printJson(ctx.io.stdout, m);
    return writeLine(ctx.io.stdout, `Cancelling migration ${m.id} of VM ${m.vm} (now ${m.state}); follow it with: drover migration show ${m.id}`);
  }
  writeLine(ctx.io.stderr, `Cancelling migration ${m.id} of VM ${m.vm} (${m.source} → ${m.target})`);
  const end = await watchMigration(ctx, m);
  if (ctx.json) printJson(ctx.io.stdout, end);
  if (end.state === 'cancelled') {
    if (!ctx.json) writeLine(ctx.io.stdout, `Migration ${end.id} cancelled; VM ${end.vm} stays on ${end.source}`);
    return;
  }
  if (!ctx.json) writeLine(ctx.io.stdout, summaryLine(end));
  throw new Error(end.state === 'completed' ? `too late to cancel: migration ${end.id} completed; VM ${end.vm} now runs on ${end.target}` : `migration ${end.id} failed before the cancel took effect: ${end.error ?? 'no reason given'}`);
}
