// `drover job list` and `drover job show ID`.
import { Command } from 'commander';
import type { Job } from '../../api/resources.js';
import { action, type Ctx } from '../context.js';
import { writeLine, type CliIo } from '../io.js';
import { age, printJson, printTable, renderFields, renderTable, seconds } from '../output.js';

export function jobCommand(io: CliIo): Command {
  const job = new Command('job').description('Operations and their steps');
  job.command('list').alias('ls').description('List recent jobs').action(action(io, listJobs));
  job.command('show').description('Show a job with its steps').argument('<id>', 'job id').action(action(io, showJob));
  return job;
}

async function listJobs(ctx: Ctx): Promise<void> {
  const jobs = await ctx.client().call('listJobs');
  if (ctx.json) return printJson(ctx.io.stdout, jobs);
  printTable(ctx.io.stdout, ['id', 'kind', 'target', 'state', 'step', 'age', 'error'], jobs.map(jobRow), 'No jobs yet.');
}

function jobRow(j: Job): Array<string | undefined> {
  return [j.id, j.kind, j.target, j.state, currentStep(j), age(j.createdAt), j.error?.message];
}

function currentStep(j: Job): string | undefined {
  const s = j.steps.find((x) => x.state === 'running' || x.state === 'failed') ?? j.steps.findLast((x) => x.state !== 'pending');
  return s ? `${s.name} (${s.state})` : undefined;
}

async function showJob(ctx: Ctx, _opts: object, id: string): Promise<void> {
  const job = await ctx.client().call('getJob', { params: { id } });
  if (ctx.json) return printJson(ctx.io.stdout, job);
  writeLine(ctx.io.stdout, renderJob(job));
}

export function renderJob(job: Job, now = Date.now()): string {
  const progress = job.progress ? `${job.progress.done}/${job.progress.total}${job.progress.message ? ` ${job.progress.message}` : ''}` : undefined;
  const fields = renderFields([
    ['ID', job.id],
    ['Kind', job.kind],
    ['Target', job.target],
    ['State', job.state],
    ['Progress', progress],
    ['Error', job.error ? `${job.error.message}${job.error.field ? ` (field: ${job.error.field})` : ''}` : undefined],
    ['Created', `${job.createdAt} (${age(job.createdAt, now)} ago)`],
    ['Updated', `${job.updatedAt} (${age(job.updatedAt, now)} ago)`],
  ]);
  if (job.steps.length === 0) return fields;
  const rows = job.steps.map((s) => [s.name, s.state, took(s.startedAt, s.endedAt, now), s.message]);
  return `${fields}\nSteps:\n${renderTable(['step', 'state', 'took', 'message'], rows).split('\n').map((l) => `  ${l}`).join('\n')}`;
}

function took(start: string | undefined, end: string | undefined, now: number): string | undefined {
  if (!start) return undefined;
  return seconds((end ? Date.parse(end) : now) - Date.parse(start));
}
