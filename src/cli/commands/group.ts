// `drover group create|add|remove|list|show|delete`: VM groups, affinity (on
// one host) or anti-affinity (each on its own host), must or should.
// Placement, migrations, maintenance and the balancer keep them.
import { Command } from 'commander';
import type { Group } from '../../api/groups.js';
import { action, type Ctx } from '../context.js';
import { writeLine, type CliIo } from '../io.js';
import { printJson, printTable, renderFields, UsageError } from '../output.js';
import { parseName } from '../parse.js';
import { parseChoice } from '../parse-constraints.js';

const KINDS = ['affinity', 'anti-affinity'] as const;
const STRENGTHS = ['must', 'should'] as const;

export function groupCommand(io: CliIo): Command {
  const group = new Command('group').description('VM groups: affinity (on one host) or anti-affinity (each on its own host), must or should');
  group.command('create')
    .description('Create a group, optionally with VMs (members that break it already are reported)')
    .argument('<name>', "group name: 1-63 lowercase letters, digits and '-'")
    .argument('[vms...]', 'member VMs (names or ids)')
    .requiredOption('--kind <kind>', 'affinity (run on one host) or anti-affinity (each on a different host)')
    .option('--strength <strength>', 'must (never broken by placement or moves) or should (preferred)', 'must')
    .addHelpText('after', '\nExamples:\n  drover group create web --kind anti-affinity web-1 web-2 web-3\n  drover group create app-db --kind affinity --strength should app db\n  drover vm create web-4 --group web')
    .action(action(io, createGroup));
  group.command('add').description('Add VMs to a group').argument('<name>', 'group name').argument('<vms...>', 'VMs (names or ids)')
    .action(action(io, (ctx, _o: object, name: string, vms: string[]) => changeMembers(ctx, name, { add: vms })));
  group.command('remove').description('Remove VMs from a group').argument('<name>', 'group name').argument('<vms...>', 'VMs (names or ids)')
    .action(action(io, (ctx, _o: object, name: string, vms: string[]) => changeMembers(ctx, name, { remove: vms })));
  group.command('list').alias('ls').description('List groups and whether their VMs keep them now').action(action(io, listGroups));
  group.command('show').description('Show a group: its VMs and what breaks it now').argument('<name>', 'group name').action(action(io, showGroup));
  group.command('delete').description('Delete a group (its VMs stay where they are)').argument('<name>', 'group name').action(action(io, deleteGroup));
  return group;
}

function status(g: Group): string {
  const v = g.violations ?? [];
  return v.length === 0 ? 'ok' : `broken: ${v.join('; ')}`;
}

/** What a group's violations mean, for after create/add. */
export function violationLines(g: Group): string[] {
  const v = g.violations ?? [];
  if (v.length === 0) return [];
  const what = g.strength === 'must' ? 'placement and moves keep it from now on' : 'placement and moves prefer to keep it from now on';
  return [`warning: the VMs break ${g.strength} ${g.kind} group ${g.name} now: ${v.join('; ')}`, `  ${what}; \`drover vm migrate VM\` moves one of them where the group holds`];
}

function renderGroup(g: Group): string {
  return renderFields([['Name', g.name], ['Kind', g.kind], ['Strength', g.strength], ['VMs', g.vms.join(', ') || '(none)'], ['Status', status(g)]]);
}

async function createGroup(ctx: Ctx, o: { kind: string; strength: string }, name: string, vms: string[]): Promise<void> {
  parseName(name);
  const body = { name, kind: parseChoice(o.kind, '--kind', KINDS), strength: parseChoice(o.strength, '--strength', STRENGTHS), ...(vms.length ? { vms } : {}) };
  const g = await ctx.client().call('createGroup', { body });
  if (ctx.json) return printJson(ctx.io.stdout, g);
  writeLine(ctx.io.stdout, `Group ${g.name} (${g.strength} ${g.kind}) created: ${g.vms.join(', ') || 'no VMs yet (drover group add, or drover vm create --group)'}`);
  for (const l of violationLines(g)) writeLine(ctx.io.stdout, l);
}

async function changeMembers(ctx: Ctx, name: string, body: { add?: string[]; remove?: string[] }): Promise<void> {
  if (!name.trim()) throw new UsageError('NAME is empty', 'NAME', 'a group name (see: drover group list)');
  const g = await ctx.client().call('changeGroupMembers', { params: { name }, body });
  if (ctx.json) return printJson(ctx.io.stdout, g);
  writeLine(ctx.io.stdout, `Group ${g.name} (${g.strength} ${g.kind}): ${g.vms.join(', ') || 'no VMs'}`);
  for (const l of violationLines(g)) writeLine(ctx.io.stdout, l);
}

async function listGroups(ctx: Ctx): Promise<void> {
  const groups = await ctx.client().call('listGroups');
  if (ctx.json) return printJson(ctx.io.stdout, groups);
  printTable(ctx.io.stdout, ['name', 'kind', 'strength', 'vms', 'status'], groups.map((g) => [g.name, g.kind, g.strength, g.vms.join(',') || undefined, status(g)]), 'No groups. Create one: drover group create NAME --kind anti-affinity VM...');
}

async function showGroup(ctx: Ctx, _o: object, name: string): Promise<void> {
  const g = await ctx.client().call('getGroup', { params: { name } });
  if (ctx.json) return printJson(ctx.io.stdout, g);
  writeLine(ctx.io.stdout, renderGroup(g));
}

async function deleteGroup(ctx: Ctx, _o: object, name: string): Promise<void> {
  const g = await ctx.client().call('deleteGroup', { params: { name } });
  if (ctx.json) return printJson(ctx.io.stdout, g);
  writeLine(ctx.io.stdout, `Group ${g.name} deleted; its VMs (${g.vms.join(', ') || 'none'}) stay where they are`);
}
