// The simulation loop. Between steps, everything due happens in time order
// on the virtual clock (host operations finishing, scenario events, failure
// detection). At each step: demand is read from the traces, the controller
// runs a planning round (planning.ts) and applies the plans, and the step is
// measured. Before step 0 a warm-up places the VMs that exist at the start,
// so the day begins with a running cluster.
import type { Planner } from '../planner-port.js';
import type { LoadedScenario } from '../scenario/load.js';
import type { SimReport } from '../report/types.js';
import { buildReport } from './report.js';
import { Controller } from './controller.js';
import { scheduleScenario } from './events.js';
import { forecastPoints, oracleForecast } from './forecast.js';
import { runGoal, planRound } from './planning.js';
import { Recorder } from './recorder.js';
import { RunCheck } from './run-check.js';
import { sampleStep } from './sample.js';
import { Timeline } from './timeline.js';
import { buildWorld, type World } from './world.js';

export interface SimOptions {
  planner: Planner;
  /** Overrides the scenario's seed. */
  seed?: number;
  /** Called after each step (progress). */
  onStep?: (step: number, steps: number) => void;
}

export function simulate(loaded: LoadedScenario, opts: SimOptions): SimReport {
  const sc = loaded.scenario;
  const seed = opts.seed ?? sc.seed;
  const warmupMs = (Math.max(sc.timing.vmStartSeconds, ...sc.hosts.map((h) => h.bootSeconds)) + 60) * 1000;
  const w = buildWorld(loaded, seed, -warmupMs);
  const timeline = new Timeline();
  const rec = new Recorder(() => w.clock.nowMs());
  const c = new Controller(w, rec, timeline);
  scheduleScenario(c, timeline, opts.planner);
  for (const vm of w.vms) vm.wanted = vm.spec.startMs === 0;
  updateDemand(w, 0);
  runGoal(c, opts.planner, 'place');
  const steps = Math.ceil(sc.durationMs / sc.stepMs);
  const forecast = sc.policies.power.forecast === 'oracle' ? oracleForecast(loaded, seed, steps) : undefined;
  const runCheck = new RunCheck();
  let lastBalance = -Infinity;
  let lastPower = -Infinity;
  for (let k = 0; k < steps; k++) {
    const t = k * sc.stepMs;
    advanceTo(c, timeline, t);
    updateDemand(w, t);
    if (forecast) w.forecast = forecastPoints(forecast, sc, k);
    const due = { balance: t - lastBalance >= sc.policies.balance.intervalMs, power: t - lastPower >= sc.policies.power.intervalMs };
    if (due.balance) lastBalance = t;
    if (due.power) lastPower = t;
    planRound(c, opts.planner, due);
    rec.doubleRuns += runCheck.check(w);
    rec.step(t, sampleStep(w));
    opts.onStep?.(k + 1, steps);
  }
  return buildReport(w, rec, seed);
}

/** Runs everything due by `t` in time order; on a tie, hosts finish their work before the timeline's next item. */
function advanceTo(c: Controller, timeline: Timeline, t: number): void {
  const w = c.world;
  for (;;) {
    let hostNext = Infinity;
    for (const h of w.busy) hostNext = Math.min(hostNext, h.port.nextEventMs());
    const next = Math.min(hostNext, timeline.nextMs());
    if (next > t) break;
    w.clock.set(next);
    w.version++;
    if (hostNext === next) {
      const due = [...w.busy].filter((h) => h.port.nextEventMs() === next).sort((a, b) => a.index - b.index);
      for (const h of due) if (h.port.advance(next)) c.reconcile(h);
    } else {
      timeline.runOne(next);
    }
    c.flush();
  }
  w.clock.set(t);
}

function updateDemand(w: World, t: number): void {
  w.version++;
  for (const vm of w.vms) {
    if (!vm.wanted) continue;
    const d = vm.trace.at(t);
    vm.cpuFrac = Math.min(1, d.cpu * vm.loadFactor);
    vm.memFrac = d.memory;
  }
}

