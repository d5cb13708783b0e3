// `policies.power.forecast: oracle`: the twin's perfect forecast. Before the
// run, a second copy of every VM's trace (same seed, same model) is read
// step by step, with the scenario's load events and VM lifetimes applied, to
// give the cluster's total demand at each step. At each step the planner gets
// the points within its lookahead as snapshot.forecast, so it can wake hosts
// ahead of demand (allowing for their boot time). A real controller forecasts
// from history; this is the upper bound of what a forecast can buy.
import type { ForecastPoint } from '../../core/planner/snapshot.js';
import type { LoadedScenario } from '../scenario/load.js';
import type { Scenario } from '../scenario/types.js';
import { traceFor } from './traces.js';

export interface DemandForecast {
  cpu: Float64Array;
  memoryMiB: Float64Array;
}

export function oracleForecast(loaded: LoadedScenario, seed: number, steps: number): DemandForecast {
  const sc = loaded.scenario;
  const cpu = new Float64Array(steps);
  const memoryMiB = new Float64Array(steps);
  for (const group of sc.vms) {
    for (let i = 0; i < group.count; i++) {
      const trace = traceFor(group.trace, loaded.traces, seed, `${group.name}-${i}`, i);
      for (let k = 0; k < steps; k++) {
        const t = k * sc.stepMs;
        if (t < group.startMs || (group.stopMs !== undefined && t >= group.stopMs)) continue;
        const d = trace.at(t);
        cpu[k]! += Math.min(1, d.cpu * loadFactor(sc, group.name, t)) * group.cpus;
        memoryMiB[k]! += d.memory * group.memoryMiB;
      }
    }
  }
  return { cpu, memoryMiB };
}

/** The factor of the last `load` event on the group in force at t (1 if none). */
function loadFactor(sc: Scenario, group: string, t: number): number {
  let f = 1;
  for (const e of sc.events) {
    if (e.kind === 'load' && e.vms === group && e.atMs <= t && (e.untilMs === undefined || t < e.untilMs)) f = e.factor;
  }
  return f;
}

/** The forecast points after step k within the lookahead (planner default: 1 h). */
export function forecastPoints(f: DemandForecast, sc: Scenario, k: number): ForecastPoint[] {
  const lookaheadMs = sc.policies.planner.power?.lookaheadMs ?? 3_600_000;
  const out: ForecastPoint[] = [];
  for (let j = k + 1; j < f.cpu.length && (j - k) * sc.stepMs <= lookaheadMs; j++) {
    out.push({ atMs: j * sc.stepMs, cpu: Math.round(f.cpu[j]! * 1000) / 1000, memoryMiB: Math.round(f.memoryMiB[j]!) });
  }
  return out;
}
