// The balancer and power loop: every `intervalS` (and on request, POST
// /v1/automation/run) it builds the live snapshot, asks the planner, and
// records or carries out what it decided, by the levels of the settings.
// One pass at a time; no pass that may act (a level is automatic) plans
// while the migrations the previous automatic pass started still run (their
// ids are kept in the store, so a controller restart keeps the rule). Every
// decision is an event.
import type { AutomationPass, AutomationSettings, Recommendation } from '../../api/automation.js';
import type { ClusterSnapshot } from '../../core/planner/index.js';
import { liveClusterSnapshot } from '../cluster-snapshot.js';
import type { ControllerContext } from '../context.js';
import { KIND, nowIso, type MigrationRecord } from '../records.js';
import { putOp } from '../state.js';
import { automationEvent, passFailedEvent, recommendationEvent } from './events.js';
import { carryOut } from './execute.js';
import { planPass } from './plan-pass.js';
import { automationPolicy, loadSettings } from './settings.js';

const PASS_ID = 'pass';
const ENDED = new Set(['completed', 'failed', 'cancelled']);

/** What the last automatic pass started (stored: kind 'automation', id 'pass'). */
interface PassRecord {
  at: string;
  migrationIds: string[];
}

export interface AutomationOptions {
  /** Migrations a host takes part in at once (the vm.migrate queue's limit): the planner's waves use it too. */
  migrationsPerHost: number;
}

export class AutomationLoop {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<AutomationPass> | undefined;
  private stopped = false;
  private latest: AutomationPass = { trigger: 'none', balance: 'off', power: 'off', recommendations: [], metrics: {} };

  constructor(
    private readonly ctx: () => ControllerContext,
    private readonly opts: AutomationOptions,
  ) {}

  /** Arms the timer: the first pass comes one interval after start. */
  start(): void {
    this.stopped = false;
    void this.arm();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.running?.catch(() => undefined);
  }

  /** Re-arms the timer with the current interval (after the settings changed). */
  rearm(): void {
    if (!this.stopped && this.timer) void this.arm();
  }

  /** The latest pass that planned (or that found both levels off). */
  latestPass(): AutomationPass {
    return this.latest;
  }

  /** Runs a pass now, or joins the one running. */
  run(trigger: 'timer' | 'request'): Promise<AutomationPass> {
    this.running ??= this.pass(trigger).finally(() => (this.running = undefined));
    return this.running;
  }

  /** The live snapshot with the policy the settings give (GET /v1/snapshot shows the same). */
  async snapshot(nowMs = Date.now(), settings?: AutomationSettings): Promise<ClusterSnapshot> {
    const s = settings ?? (await loadSettings(this.ctx().state));
    return liveClusterSnapshot(this.ctx(), nowMs, automationPolicy(s, this.opts.migrationsPerHost));
  }

  private async arm(): Promise<void> {
    clearTimeout(this.timer);
    let intervalS: number;
    try {
      intervalS = (await loadSettings(this.ctx().state)).intervalS;
    } catch {
      return; // the store is closing
    }
    if (this.stopped) return;
    clearTimeout(this.timer);
    this.timer = setTimeout(() => void this.tick(), intervalS * 1000);
    this.timer.unref();
  }

  private async tick(): Promise<void> {
    try {
      await this.run('timer');
    } catch (err) {
      this.ctx().log.error({ err }, 'automation pass failed');
    }
    if (!this.stopped) await this.arm();
  }

  private async pass(trigger: 'timer' | 'request'): Promise<AutomationPass> {
    const ctx = this.ctx();
    const settings = await loadSettings(ctx.state);
    const base: AutomationPass = { at: nowIso(), trigger, balance: settings.balance, power: settings.power, grow: settings.grow, recommendations: [], metrics: {} };
    const levels = [settings.balance, settings.power, settings.grow];
    if (levels.every((l) => l === 'off')) return (this.latest = { ...base, skipped: 'balance, power and grow automation are off' });
    // Recommendations change nothing: only a pass that may act waits for the previous one's migrations.
    const acts = levels.includes('automatic');
    const busy = acts ? await this.previousStillRunning() : [];
    if (busy.length > 0) return { ...base, skipped: `${busy.length} migration(s) the previous automatic pass started are still running (${busy.join(', ')}); no new pass until they end` };
    const nowMs = Date.now();
    let snapshot: ClusterSnapshot;
    let planned: ReturnType<typeof planPass>;
    try {
      snapshot = await this.snapshot(nowMs, settings);
      planned = planPass(snapshot, settings);
    } catch (err) {
      const error = (err as Error).message;
      ctx.state.events.publish(passFailedEvent(error));
      return (this.latest = { ...base, error });
    }
    const recommendations = await this.decide(planned.recommendations, snapshot, nowMs);
    return (this.latest = { ...base, recommendations, metrics: planned.metrics });
  }

  /** Records each recommendation, carries out each automatic decision; an event for every one. */
  private async decide(recs: Recommendation[], snapshot: ClusterSnapshot, nowMs: number): Promise<Recommendation[]> {
    const ctx = this.ctx();
    const out: Recommendation[] = [];
    for (const r of recs) {
      if (r.level === 'recommend') {
        ctx.state.events.publish(recommendationEvent(r, snapshot));
        out.push(r);
        continue;
      }
      const done: Recommendation = ctx.stopping.aborted ? { ...r, state: 'skipped', detail: 'the controller is stopping' } : await carryOut(ctx, r, nowMs);
      ctx.state.events.publish(automationEvent(done, snapshot));
      out.push(done);
    }
    const started = out.flatMap((r) => (r.migrationId ? [r.migrationId] : []));
    if (started.length > 0) await ctx.state.commit([putOp(KIND.automation, PASS_ID, { at: nowIso(), migrationIds: started } satisfies PassRecord)]);
    return out;
  }

  /** Ids of the migrations the last automatic pass started that have not ended. */
  private async previousStillRunning(): Promise<string[]> {
    const state = this.ctx().state;
    const last = await state.store.get<PassRecord>(KIND.automation, PASS_ID);
    if (!last) return [];
    const recs = await Promise.all(last.data.migrationIds.map((id) => state.store.get<MigrationRecord>(KIND.migration, id)));
    return recs.flatMap((m) => (m && !ENDED.has(m.data.state) ? [m.id] : []));
  }
}
