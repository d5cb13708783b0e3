// `drover plan --snapshot FILE.json --goal GOAL`: the planner's plan for a
// cluster snapshot, offline (no controller is called). `drover snapshot`:
// the live cluster's snapshot, built through the API (docs/planner.md).
import { Command } from 'commander';
import { readFileSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import type { Host, Vm } from '../../api/resources.js';
import { plan, SnapshotError, validateSnapshot, type ClusterSnapshot, type PlanGoal, type SnapshotHost, type SnapshotVm } from '../../core/planner/index.js';
import { usesResources } from '../../core/pool-capacity.js';
import { action, type Ctx } from '../context.js';
import { writeLine, type CliIo } from '../io.js';
import { printJson, UsageError } from '../output.js';
import { renderPlan } from './plan-view.js';

const GOALS = 'place, balance, consolidate, ha-restart or evacuate:HOST';

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
    .description('Write the live cluster\'s snapshot (hosts, VMs) as JSON for drover plan')
    .option('--out <file>', 'write it to this file (default: standard output)')
    .action(action(io, writeSnapshot));
}

export function parseGoal(text: string, s: ClusterSnapshot): PlanGoal {
  if (text === 'place' || text === 'balance' || text === 'consolidate' || text === 'ha-restart') return text;
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

const HOST_STATES: Partial<Record<Host['state'], SnapshotHost['state']>> = { Ready: 'ready', Maintenance: 'maintenance', Standby: 'standby' };

/** Hosts in Ready, Maintenance or Standby that reported an inventory; VMs that hold resources. */
export function toSnapshot(hosts: Host[], vms: Vm[], nowMs: number): ClusterSnapshot {
  const out: ClusterSnapshot = { nowMs, hosts: [], vms: [] };
  for (const h of hosts) {
    const state = HOST_STATES[h.state];
    if (!state || !h.inventory) continue;
    out.hosts.push({ id: h.id, name: h.name, cpus: h.inventory.cpus, memoryMiB: h.inventory.memoryMiB, state });
  }
  for (const v of vms) {
    if (!usesResources(v.phase)) continue;
    const vm: SnapshotVm = { id: v.id, name: v.name, cpus: v.spec.cpus, memoryMiB: v.spec.memoryMiB, host: v.hostId };
    if (v.stats) vm.memoryUsageMiB = Math.min(v.spec.memoryMiB, Math.round(v.stats.rssBytes / 1024 ** 2));
    out.vms.push(vm);
  }
  return out;
}

async function writeSnapshot(ctx: Ctx, o: { out?: string }): Promise<void> {
  const client = ctx.client();
  const [hosts, vms] = await Promise.all([client.call('listHosts'), client.call('listVms')]);
  const snapshot = toSnapshot(hosts, vms, Date.now());
  if (!o.out) return ctx.json ? printJson(ctx.io.stdout, snapshot) : writeLine(ctx.io.stdout, JSON.stringify(snapshot, null, 2));
  writeFileSync(resolve(ctx.io.cwd, o.out), JSON.stringify(snapshot, null, 2) + '\n');
  if (ctx.json) return printJson(ctx.io.stdout, { file: o.out, hosts: snapshot.hosts.length, vms: snapshot.vms.length });
  writeLine(ctx.io.stdout, `Wrote ${o.out}: ${snapshot.hosts.length} host(s), ${snapshot.vms.length} VM(s)`);
}
