// Randomized chaos rounds against a real testbed (npm run chaos): seeded
// choice of fault and target host each round, a line per round, and a
// summary: faults injected, failovers, violations (must be 0), anomalies,
// recovery times. Used by test/chaos/main.ts and by the CI subset.
import type { Metric } from '../../bench/report.js';
import { dist } from '../../bench/report.js';
import { Rng } from '../../src/sim/random.js';
import { startChaosCluster } from './cluster.js';
import { FAULTS, FAULT_NAMES, type Fault, type FaultName } from './faults.js';
import { runRound, type RoundResult } from './round.js';

export interface ChaosOptions {
  rounds: number;
  seed: number;
  hosts: number;
  vms: number;
  /** Namespace testbed (root): adds link and storage faults. */
  netns: boolean;
  /** Only these faults (default: every one the mode allows), taken in turn instead of at random when `cycle`. */
  faults?: FaultName[];
  cycle?: boolean;
  log: (line: string) => void;
  /** Called with the summary so far after every round (a run cut short still leaves its measured rounds). */
  onRound?: (s: ChaosSummary) => void;
}

export interface ChaosSummary {
  rounds: number;
  seed: number;
  mode: 'netns' | 'process';
  faults: Record<string, number>;
  /** VM restarts on another host, over all rounds. */
  failovers: number;
  violations: string[];
  anomalies: string[];
  falseFailovers: number;
  recoverMs: Metric;
  results: RoundResult[];
}

function allowedFaults(o: Pick<ChaosOptions, 'netns' | 'hosts' | 'faults'>): Fault[] {
  const names = o.faults ?? [...FAULT_NAMES];
  return names.map((n) => FAULTS[n]).filter((f) => (o.netns || !f.netns) && f.hosts < o.hosts);
}

export async function runChaos(o: ChaosOptions): Promise<ChaosSummary> {
  const faults = allowedFaults(o);
  if (faults.length === 0) throw new Error(`no fault can run with ${o.hosts} host(s) in ${o.netns ? 'namespace' : 'process'} mode`);
  // The simulator's seeded generator: a failing run can be repeated with its seed.
  const rng = new Rng(o.seed);
  const pick = <T>(xs: readonly T[]): T => xs[rng.int(xs.length)]!;
  const c = await startChaosCluster(o);
  const results: RoundResult[] = [];
  try {
    for (let i = 1; i <= o.rounds; i++) {
      const fault = o.cycle ? faults[(i - 1) % faults.length]! : pick(faults);
      // Hit hosts that run HA VMs where the fault needs hosts; the rest at random.
      const withVms = [...new Set(c.hostOf.values())];
      const hosts = c.tb.hosts.map((h) => h.name);
      const targets: string[] = [];
      while (targets.length < fault.hosts) {
        const pool = (targets.length === 0 ? withVms : hosts).filter((h) => !targets.includes(h));
        targets.push(pick(pool.length ? pool : hosts.filter((h) => !targets.includes(h))));
      }
      const r = await runRound(c, i, fault, targets);
      results.push(r);
      o.log(describe(r, o.rounds));
      o.onRound?.(summarize(o, results));
    }
  } finally {
    await c.stop();
  }
  return summarize(o, results);
}

function summarize(o: ChaosOptions, results: RoundResult[]): ChaosSummary {
  const count: Record<string, number> = {};
  for (const r of results) count[r.fault] = (count[r.fault] ?? 0) + 1;
  return {
    rounds: results.length, seed: o.seed, mode: o.netns ? 'netns' : 'process', faults: count,
    failovers: results.reduce((n, r) => n + r.failedOver.length, 0),
    violations: results.flatMap((r) => r.violations.map((v) => `round ${r.round} (${r.fault} ${r.targets.join(',')}): ${v}`)),
    anomalies: results.flatMap((r) => r.anomalies.map((v) => `round ${r.round} (${r.fault} ${r.targets.join(',')}): ${v}`)),
    falseFailovers: results.reduce((n, r) => n + r.falseFailovers, 0),
    recoverMs: dist(results.map((r) => r.recoverMs), 'ms', 'fault injected -> every host Ready, every HA VM running once and answering'),
    results,
  };
}

function describe(r: RoundResult, of: number): string {
  const moved = r.failedOver.length ? `failed over ${r.failedOver.join(', ')}` : 'nothing moved';
  const bad = [...r.violations.map((v) => `VIOLATION ${v}`), ...r.anomalies.map((a) => `anomaly: ${a}`)];
  return `round ${r.round}/${of} ${r.fault}${r.targets.length ? ` ${r.targets.join(',')}` : ''}: ${moved}; settled in ${(r.recoverMs / 1000).toFixed(1)} s${bad.length ? `\n  ${bad.join('\n  ')}` : ''}`;
}
