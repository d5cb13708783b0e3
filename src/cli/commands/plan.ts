// `drover plan --snapshot FILE.json --goal GOAL`: the planner's plan for a
// cluster snapshot, offline (no controller is called). `drover snapshot`:
// the live cluster's snapshot, built through the API (docs/planner.md).
import { Command } from 'commander';
import { readFileSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { plan, SnapshotError, validateSnapshot, type ClusterSnapshot, type PlanGoal } from '../../core/planner/index.js';
import { action, type Ctx } from '../context.js';
import { writeLine, type CliIo } from '../io.js';
import { printJson, UsageError } from '../output.js';
import { renderPlan } from './plan-view.js';

const GOALS = 'place, balance, consolidate, grow, ha-restart or evacuate:HOST';

interface PlanOpts {
  snapshot: string;
  goal: string;
  explain?: boolean;
}

export function planCommand(io: CliIo): Command {
  return new Command('plan')
    .description('Print the planner\'s plan for a cluster snapshot file (offline: no controller is called)')
    .requiredOption('--snapshot <file>', 'snapshot JSON (drover snapshot writes one; format in docs/planner.md)')
    .requiredOption('--goal <goal>', `what to plan: ${GOALS}`)
    .option('--explain', 'show the reason and the numbers behind each action, and why VMs could not be placed, per host class')
    .addHelpText('after', '\nExamples:\n  drover snapshot --out cluster.json\n  drover plan --snapshot cluster.json --goal balance --explain\n  drover plan --snapshot cluster.json --goal evacuate:h2 --json')
    .action(action(io, runPlan));
}

export function snapshotCommand(io: CliIo): Command {
  return new Command('snapshot')
    .description('Write the live cluster\'s snapshot (hosts, VMs with their usage and migrations in flight, the automation policy) as JSON for drover plan')
    .option('--out <file>', 'write it to this file (default: standard output)')
    .action(action(io, writeSnapshot));
}

export function parseGoal(text: string, s: ClusterSnapshot): PlanGoal {
  if (text === 'place' || text === 'balance' || text === 'consolidate' || text === 'grow' || text === 'ha-restart') return text;
  const m = /^evacuate:(.+)$/.exec(text);
  if (!m) throw new UsageError(`unknown goal "${text}"`, '--goal', GOALS);
  const key = m[1]!;
  if (!s.hosts.some((h) => h.id === key || h.name === key)) {
    const known = s.hosts.slice(0, 10).map((h) => h.id).join(', ');
    throw new UsageError(`goal evacuate:${key}: the snapshot has no host "${key}"`, '--goal', `evacuate:HOST with a host id or name of the snapshot (${known}${s.hosts.length > 10 ? ', ...' : ''})`);
  }
  return { evacuate: key };
}

export function readSnapshot(path: string, shown: string): ClusterSnapshot {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new UsageError(`cannot read snapshot ${shown}: ${(err as Error).message}`, '--snapshot');
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new UsageError(`snapshot ${shown} is not JSON: ${(err as Error).message}`, '--snapshot');
  }
  try {
    return validateSnapshot(json);
  } catch (err) {
    if (err instanceof SnapshotError) throw new UsageError(`snapshot ${shown}: ${err.message}`, err.field);
    throw err;
  }
}

async function runPlan(ctx: Ctx, o: PlanOpts): Promise<void> {
  const loaded = readSnapshot(resolve(ctx.io.cwd, o.snapshot), o.snapshot);
  // The clock is the shell's to give: a snapshot without one is planned as of now.
  const snapshot = loaded.nowMs === undefined ? { ...loaded, nowMs: Date.now() } : loaded;
  const result = plan(snapshot, parseGoal(o.goal, snapshot));
  if (ctx.json) return printJson(ctx.io.stdout, result);
  writeLine(ctx.io.stdout, renderPlan(result, o.explain === true));
}

async function writeSnapshot(ctx: Ctx, o: { out?: string }): Promise<void> {
  // The controller builds it (src/controller/cluster-snapshot.ts), with the same code its automation plans from.
  const snapshot = await ctx.client().call('getSnapshot');
  if (!o.out) return ctx.json ? printJson(ctx.io.stdout, snapshot) : writeLine(ctx.io.stdout, JSON.stringify(snapshot, null, 2));
  writeFileSync(resolve(ctx.io.cwd, o.out), JSON.stringify(snapshot, null, 2) + '\n');
  if (ctx.json) return printJson(ctx.io.stdout, { file: o.out, hosts: snapshot.hosts.length, vms: snapshot.vms.length });
  writeLine(ctx.io.stdout, `Wrote ${o.out}: ${snapshot.hosts.length} host(s), ${snapshot.vms.length} VM(s)`);
}
