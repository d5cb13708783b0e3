// `drover migration list` and `drover migration show ID`: live migrations,
// running and recent, with their progress, outcome and escalation path.
import { Command } from 'commander';
import { action, type Ctx } from '../context.js';
import { writeLine, type CliIo } from '../io.js';
import { MIGRATION_COLUMNS, migrationRow, renderMigration } from '../migration-view.js';
import { printJson, printTable } from '../output.js';

export function migrationCommand(io: CliIo): Command {
  const migration = new Command('migration').description('Live migrations, running and recent');
  migration.command('list').alias('ls').description('List migrations').action(action(io, listMigrations));
  migration.command('show').description('Show a migration with its live progress or its result').argument('<id>', 'migration id').action(action(io, showMigration));
  return migration;
}

async function listMigrations(ctx: Ctx): Promise<void> {
  const migrations = await ctx.client().call('listMigrations');
  if (ctx.json) return printJson(ctx.io.stdout, migrations);
  const now = Date.now();
  printTable(ctx.io.stdout, MIGRATION_COLUMNS, migrations.map((m) => migrationRow(m, now)), 'No migrations yet. Start one: drover vm migrate VM [--to HOST]');
}

async function showMigration(ctx: Ctx, _opts: object, id: string): Promise<void> {
  const m = await ctx.client().call('getMigration', { params: { id } });
  if (ctx.json) return printJson(ctx.io.stdout, m);
  writeLine(ctx.io.stdout, renderMigration(m));
}
