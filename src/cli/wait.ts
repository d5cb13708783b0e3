// Waiting for a job: a live display of its steps on stderr (stdout stays for
// the result), one line per finished step; on a terminal also the running
// step with its elapsed time, redrawn in place.
import type { Job, JobStep } from '../api/resources.js';
import type { Ctx } from './context.js';
import { write, writeLine, type OutStream } from './io.js';
import { seconds } from './output.js';

export interface JobDisplay {
  update(job: Job): void;
  stop(): void;
}

const MARKS: Partial<Record<JobStep['state'], string>> = { done: '✓', failed: '✗', undone: '↺' };

export class StepDisplay implements JobDisplay {
  private readonly printed = new Set<string>();
  private readonly seenRunning = new Map<string, number>();
  private running: string | undefined;
  private timer: NodeJS.Timeout | undefined;
  private liveShown = false;

  constructor(
    private readonly stream: OutStream,
    private readonly now: () => number = Date.now,
  ) {
    if (stream.isTTY) this.timer = setInterval(() => this.drawLive(), 100);
  }

  update(job: Job): void {
    this.clearLive();
    job.steps.forEach((step, i) => {
      if (step.state === 'running' && !this.seenRunning.has(step.name)) this.seenRunning.set(step.name, this.now());
      const key = `${i}:${step.state}`;
      if (!MARKS[step.state] || this.printed.has(key)) return;
      this.printed.add(key);
      writeLine(this.stream, this.stepLine(step));
    });
    this.running = job.state === 'running' ? job.steps.find((s) => s.state === 'running')?.name : undefined;
    this.drawLive();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    this.clearLive();
  }

  private stepLine(step: JobStep): string {
    const mark = MARKS[step.state] ?? ' ';
    if (step.state === 'undone') return `  ${mark} ${step.name.padEnd(12)} undone`;
    const took = this.duration(step);
    const message = step.message ? `  ${step.message}` : '';
    return `  ${mark} ${step.name.padEnd(12)} ${took === undefined ? '' : seconds(took)}${message}`.trimEnd();
  }

  private duration(step: JobStep): number | undefined {
    if (step.startedAt && step.endedAt) return Date.parse(step.endedAt) - Date.parse(step.startedAt);
    const seen = this.seenRunning.get(step.name);
    return seen === undefined ? undefined : this.now() - seen;
  }

  private drawLive(): void {
    if (!this.stream.isTTY || !this.running) return;
    const since = this.seenRunning.get(this.running) ?? this.now();
    write(this.stream, `\r\x1b[2K  … ${this.running.padEnd(12)} ${seconds(this.now() - since)}`);
    this.liveShown = true;
  }

  private clearLive(): void {
    if (!this.liveShown) return;
    write(this.stream, '\r\x1b[2K');
    this.liveShown = false;
  }
}

/**
 * Waits for the job to end, showing `title` and then its steps (nothing with --json).
 * Throws the job's error as an ApiError when it failed or rolled back.
 */
export async function waitForJob(ctx: Ctx, job: Job, title: string, display?: JobDisplay): Promise<Job> {
  if (ctx.json) return ctx.client().waitJob(job.id);
  writeLine(ctx.io.stderr, `${title} (job ${job.id})`);
  const shown = display ?? new StepDisplay(ctx.io.stderr);
  const started = Date.now();
  try {
    const done = await ctx.client().waitJob(job.id, (j) => shown.update(j));
    shown.stop();
    writeLine(ctx.io.stderr, `  done in ${seconds(Date.now() - started)}`);
    return done;
  } finally {
    shown.stop();
  }
}

/** What to tell the user when they chose --no-wait. */
export function jobStartedLine(job: Job): string {
  return `Job ${job.id} (${job.kind} ${job.target}) started; follow it with: drover job show ${job.id}`;
}
