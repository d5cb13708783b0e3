// `drover host maintenance HOST` (no new VMs; every running VM live-migrated
// away, then one line per VM: where it went or why it could not move) and
// `drover host activate HOST` (Ready again).
import type { Command } from 'commander';
import { ApiError } from '../../api/errors.js';
import type { Job } from '../../api/resources.js';
import { action, type Ctx } from '../context.js';
import { writeLine, type CliIo } from '../io.js';
import { printJson, UsageError } from '../output.js';
import { jobStartedLine, waitForJob } from '../wait.js';

export function registerHostMaintenance(host: Command, io: CliIo): void {
  host.command('maintenance')
    .description('Put a host in maintenance: no new VMs, every running VM live-migrated away')
    .argument('<host>', 'host name or id')
    .option('--no-wait', 'return once the job is accepted')
    .action(action(io, maintenance));
  host.command('activate')
    .description('Bring a host out of maintenance or standby (Ready again)')
    .argument('<host>', 'host name or id')
    .action(action(io, activate));
  host.command('standby')
    .description('Put an empty host in Standby: no new VMs, out of the pool capacity (refused while VMs run there)')
    .argument('<host>', 'host name or id')
    .action(action(io, standby));
}

/** The job's per-VM outcomes, one a line ("web: moved to h1", "db: not moved, it is Stopped ..."). */
export function outcomeLines(job: Job): string[] {
  const message = job.progress?.message;
  if (!message || job.state === 'running') return [];
  return message.split('; ').map((l) => l.trim()).filter((l) => l !== '');
}

function checkHost(name: string): void {
  if (!name.trim()) throw new UsageError('HOST is empty', 'HOST', 'a host name or id (see: drover host list)');
}

async function maintenance(ctx: Ctx, opts: { wait: boolean }, name: string): Promise<void> {
  checkHost(name);
  const job = await ctx.client().call('hostMaintenance', { params: { name }, body: {} });
  if (!opts.wait) {
    if (ctx.json) return printJson(ctx.io.stdout, job);
    return writeLine(ctx.io.stdout, jobStartedLine(job));
  }
  let done: Job;
  try {
    done = await waitForJob(ctx, job, `Putting host ${name} in maintenance`);
  } catch (err) {
    if (!(err instanceof ApiError)) throw err;
    return reportFailure(ctx, name, await ctx.client().call('getJob', { params: { id: job.id } }), err);
  }
  if (ctx.json) return printJson(ctx.io.stdout, done);
  writeLine(ctx.io.stdout, `Host ${name} is in maintenance`);
  for (const line of outcomeLines(done)) writeLine(ctx.io.stdout, `  ${line}`);
}

/** Prints what moved and what did not, then fails (exit 1). */
function reportFailure(ctx: Ctx, name: string, job: Job, err: ApiError): never {
  const lines = outcomeLines(job);
  if (ctx.json) printJson(ctx.io.stdout, job);
  else for (const line of lines) writeLine(ctx.io.stdout, `  ${line}`);
  const stuck = lines.filter((l) => l.includes('not moved')).length;
  if (stuck === 0) throw err;
  throw new ApiError(err.code, `${stuck} VM(s) could not be moved off host ${name}; it stays in maintenance (see the lines above, then retry or stop them)`);
}

async function standby(ctx: Ctx, _opts: object, name: string): Promise<void> {
  checkHost(name);
  const host = await ctx.client().call('hostStandby', { params: { name }, body: {} });
  if (ctx.json) return printJson(ctx.io.stdout, host);
  writeLine(ctx.io.stdout, `Host ${host.name} is ${host.state}; \`drover host activate ${host.name}\` brings it back`);
}

async function activate(ctx: Ctx, _opts: object, name: string): Promise<void> {
  checkHost(name);
  const host = await ctx.client().call('hostActivate', { params: { name }, body: {} });
  if (ctx.json) return printJson(ctx.io.stdout, host);
  writeLine(ctx.io.stdout, `Host ${host.name} is ${host.state}`);
}
