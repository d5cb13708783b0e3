// The job runner. A job is a persisted list of steps; each step's state is
// saved before and after it runs, so after a crash the controller resumes
// every running job from its first unfinished step. Steps write desired
// state and wait for observed state, which makes re-running one harmless.
import { randomBytes } from 'node:crypto';
import type { Logger } from 'pino';
import { ApiError, ErrorCode } from '../api/errors.js';
import { ShutdownError, WaitTimeoutError } from './change-feed.js';
import { jobEvent } from './events.js';
import { KIND, nowIso, type JobParams, type JobRecord } from './records.js';
import { putOp, type ControllerState } from './state.js';

export interface StepContext {
  job: JobRecord;
  state: ControllerState;
  signal: AbortSignal;
  log: Logger;
  /** Persists the job record (progress, params) and publishes a job event. */
  save(): Promise<void>;
}

export interface StepDef {
  name: string;
  run(ctx: StepContext): Promise<void>;
}

export interface JobKind {
  kind: string;
  steps(params: JobParams): readonly StepDef[];
  /** Undo a failed job; when present the job ends `rolled-back`. Must be idempotent: a restart may run it again. */
  rollback?(ctx: StepContext): Promise<void>;
}

const MAX_KEPT_JOBS = 500;

/**
 * Test hook: DROVER_CRASH_AT=<jobKind>:<stepName> kills the controller
 * (SIGKILL) right before that step runs. Steps may name points of their own
 * (ha.failover: `restart#N`, after the N-th VM's restart was committed).
 */
export function crashHook(kind: string, step: string): void {
  if (process.env.DROVER_CRASH_AT === `${kind}:${step}`) process.kill(process.pid, 'SIGKILL');
}

export function newJobId(): string {
  // Time first, so listing jobs by id lists them in creation order.
  return `${Date.now().toString(36).padStart(9, '0')}-${randomBytes(4).toString('hex')}`;
}

export function toJobError(err: unknown): NonNullable<JobRecord['error']> {
  if (err instanceof ApiError) return { code: err.code, message: err.message, field: err.field };
  if (err instanceof WaitTimeoutError) return { code: ErrorCode.unavailable, message: err.message };
  return { code: ErrorCode.internal, message: (err as Error)?.message ?? String(err) };
}

export class JobRunner {
  private readonly kinds = new Map<string, JobKind>();
  private readonly active = new Map<string, Promise<void>>();
  private readonly stopping = new AbortController();

  constructor(
    private readonly state: ControllerState,
    private readonly log: Logger,
  ) {}

  register(kind: JobKind): void {
    this.kinds.set(kind.kind, kind);
  }

  /** A new job record (not yet stored: the caller commits it with whatever it belongs to). */
  newJob(kind: string, target: string, params: JobParams): JobRecord {
    const def = this.kinds.get(kind);
    if (!def) throw new Error(`unknown job kind ${kind}`);
    const at = nowIso();
    const steps = def.steps(params).map((s) => ({ name: s.name, state: 'pending' as const }));
    return { id: newJobId(), kind, target, state: 'running', steps, params, createdAt: at, updatedAt: at };
  }

  /** Runs a committed job in the background. */
  start(job: JobRecord): void {
    if (this.active.has(job.id) || this.stopping.signal.aborted) return;
    // Its own copy (the caller may still be answering with the record), started on the next turn.
    const run = new Promise((r) => setImmediate(r))
      .then(() => this.execute(structuredClone(job)))
      .catch((err) => this.log.error({ err, job: job.id }, 'job runner error'))
      .finally(() => this.active.delete(job.id));
    this.active.set(job.id, run);
  }

  async resumeAll(): Promise<number> {
    const running = (await this.state.listJobs()).filter((j) => j.data.state === 'running');
    for (const j of running) {
      this.log.info({ job: j.id, kind: j.data.kind }, 'resuming job');
      this.start(j.data);
    }
    return running.length;
  }

  /** Stops every job where it waits, leaving it `running` for the next start to resume. */
  async stop(): Promise<void> {
    this.stopping.abort();
    await Promise.allSettled([...this.active.values()]);
  }

  private context(job: JobRecord): StepContext {
    const ctx: StepContext = {
      job,
      state: this.state,
      signal: this.stopping.signal,
      log: this.log.child({ job: job.id }),
      save: async () => {
        ctx.job.updatedAt = nowIso();
        await this.state.commit([putOp(KIND.job, ctx.job.id, ctx.job)], [jobEvent(ctx.job)]);
      },
    };
    return ctx;
  }

  private async execute(job: JobRecord): Promise<void> {
    const def = this.kinds.get(job.kind);
    const ctx = this.context(job);
    if (!def) return this.finish(ctx, 'failed', new Error(`unknown job kind ${job.kind}`));
    try {
      if (job.params.rollingBack) return await this.rollBack(ctx, def);
      const steps = def.steps(job.params);
      for (const [i, step] of steps.entries()) {
        const record = job.steps[i];
        if (!record || record.state === 'done') continue;
        if (record.state !== 'running') {
          crashHook(job.kind, step.name);
          Object.assign(record, { state: 'running', startedAt: record.startedAt ?? nowIso() });
          await ctx.save();
        }
        await step.run(ctx);
        Object.assign(record, { state: 'done', endedAt: nowIso() });
        // One commit ends this step and begins the next (each commit is an fsync).
        const next = job.steps[i + 1];
        const nextStep = steps[i + 1];
        if (next && nextStep && next.state === 'pending') {
          crashHook(job.kind, nextStep.name);
          Object.assign(next, { state: 'running', startedAt: nowIso() });
        }
        await ctx.save();
      }
      await this.finish(ctx, 'succeeded');
    } catch (err) {
      if (err instanceof ShutdownError) return;
      await this.fail(ctx, def, err);
    }
  }

  private async fail(ctx: StepContext, def: JobKind, err: unknown): Promise<void> {
    const step = ctx.job.steps.find((s) => s.state === 'running');
    const error = toJobError(err);
    if (step) Object.assign(step, { state: 'failed', endedAt: nowIso(), message: error.message });
    ctx.job.error = error;
    ctx.log.warn({ error }, `job ${ctx.job.kind} ${ctx.job.target} failed`);
    if (!def.rollback) return this.finish(ctx, 'failed');
    ctx.job.params.rollingBack = true;
    await ctx.save();
    await this.rollBack(ctx, def);
  }

  private async rollBack(ctx: StepContext, def: JobKind): Promise<void> {
    try {
      await def.rollback?.(ctx);
    } catch (err) {
      if (err instanceof ShutdownError) return;
      ctx.job.error = { ...(ctx.job.error ?? toJobError(err)), message: `${ctx.job.error?.message ?? ''}; rollback failed: ${toJobError(err).message}` };
      return this.finish(ctx, 'failed');
    }
    for (const s of ctx.job.steps) if (s.state === 'done') s.state = 'undone';
    await this.finish(ctx, 'rolled-back');
  }

  private async finish(ctx: StepContext, state: JobRecord['state'], err?: unknown): Promise<void> {
    ctx.job.state = state;
    if (err) ctx.job.error = toJobError(err);
    await ctx.save();
    await this.pruneFinished().catch((e) => this.log.warn({ err: e }, 'pruning old jobs failed'));
  }

  /** Keeps the store from growing without bound: only the newest finished jobs stay. */
  private async pruneFinished(): Promise<void> {
    const jobs = await this.state.listJobs();
    if (jobs.length <= MAX_KEPT_JOBS) return;
    const old = jobs.slice(0, jobs.length - MAX_KEPT_JOBS).filter((j) => j.data.state !== 'running');
    await this.state.commit(old.map((j) => ({ op: 'delete', kind: KIND.job, id: j.id, expectRev: j.rev })));
  }
}
