// The recorder's samples and counts → report.json (report/types.ts). Numbers
// are rounded (to 4 decimals) so the file stays small and stable.
import { HOUR, MINUTE } from '../clock.js';
import type { SimReport, SimTotals, Violations } from '../report/types.js';
import type { Recorder } from './recorder.js';
import type { StepSample } from './sample.js';
import type { World } from './world.js';

const VIOLATION_KEYS = ['must', 'memory', 'cpu', 'antiAffinity', 'affinity', 'hostRules', 'haAdmission', 'should', 'memoryInFlight'] as const;

export function r4(x: number): number {
  return Number.isFinite(x) ? Math.round(x * 1e4) / 1e4 : 0;
}

export function quantile(sorted: number[], q: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))]!;
}

export function buildReport(w: World, rec: Recorder, seed: number): SimReport {
  const sc = w.scenario;
  const samples = rec.series.samples;
  const col = (f: (s: StepSample) => number) => samples.map((s) => r4(f(s)));
  const utils = samples.map((s) => [...s.cpuUtils].sort((a, b) => a - b));
  return {
    scenario: { name: sc.name, description: sc.description, seed, durationHours: r4(sc.durationMs / HOUR), stepMinutes: r4(sc.stepMs / MINUTE), hosts: w.hosts.length, vms: w.vms.length },
    series: {
      tHours: rec.series.tHours.map(r4),
      activeHosts: col((s) => s.activeHosts),
      bootingHosts: col((s) => s.bootingHosts),
      standbyHosts: col((s) => s.standbyHosts),
      failedHosts: col((s) => s.failedHosts),
      demandCores: col((s) => s.demandCores),
      cpuUtil: { p10: utils.map((u) => r4(quantile(u, 0.1))), p50: utils.map((u) => r4(quantile(u, 0.5))), p90: utils.map((u) => r4(quantile(u, 0.9))), max: utils.map((u) => r4(u[u.length - 1] ?? 0)) },
      memUtilP50: samples.map((s) => r4(quantile([...s.memUtils].sort((a, b) => a - b), 0.5))),
      migrations: [...rec.series.migrations],
      unplaced: { vms: col((s) => s.unplacedVms), cores: col((s) => s.unplacedCores), memoryGiB: col((s) => s.unplacedMiB / 1024) },
      cpuShortfallCores: col((s) => s.cpuShortfallCores),
      overloadedHosts: col((s) => s.overloadedHosts),
      violations: Object.fromEntries(VIOLATION_KEYS.map((k) => [k, col((s) => s.violations[k])])) as unknown as Violations<number[]>,
    },
    hourly: hourly(rec),
    utilizationHistogram: histogram(samples),
    totals: totals(w, rec),
    planner: rec.planner,
    log: rec.log.map((l) => ({ tHours: r4(l.tHours), text: l.text })),
  };
}

/** Migrations by the hour in which they started (they start when the step plans). */
function hourly(rec: Recorder): SimReport['hourly'] {
  const hour: number[] = [];
  const migrations: number[] = [];
  rec.series.tHours.forEach((t, i) => {
    const h = Math.floor(t + 1e-9);
    while (hour.length <= h) {
      hour.push(hour.length);
      migrations.push(0);
    }
    migrations[h]! += rec.series.migrations[i]!;
  });
  return { hour, migrations };
}

function histogram(samples: StepSample[]): SimReport['utilizationHistogram'] {
  const hostSteps = new Array<number>(11).fill(0);
  for (const s of samples) for (const u of s.cpuUtils) hostSteps[Math.min(10, Math.floor(u * 10 + 1e-9))]!++;
  return { lowerPct: hostSteps.map((_, i) => i * 10), hostSteps };
}

function totals(w: World, rec: Recorder): SimTotals {
  const sc = w.scenario;
  const stepH = sc.stepMs / HOUR;
  const samples = rec.series.samples;
  const sum = (f: (s: StepSample) => number) => samples.reduce((x, s) => x + f(s), 0);
  const hostHoursOn = sum((s) => s.activeHosts) * stepH;
  const baselineHostHours = sum((s) => w.hosts.length - s.failedHosts) * stepH;
  const active = samples.map((s) => s.activeHosts);
  const allUtils = samples.flatMap((s) => s.cpuUtils).sort((a, b) => a - b);
  const perHour = hourly(rec).migrations;
  const secs = [...rec.migrationSeconds].sort((a, b) => a - b);
  const restarts = [...rec.restartSeconds].sort((a, b) => a - b);
  const v = Object.fromEntries(VIOLATION_KEYS.map((k) => [k, sum((s) => s.violations[k])])) as unknown as Violations<number>;
  return {
    energy: { hostHoursOn: r4(hostHoursOn), baselineHostHours: r4(baselineHostHours), savedPct: r4(baselineHostHours > 0 ? (100 * (baselineHostHours - hostHoursOn)) / baselineHostHours : 0) },
    activeHosts: { mean: r4(active.reduce((a, b) => a + b, 0) / Math.max(1, active.length)), min: minOf(active), max: maxOf(active) },
    cpuUtil: { p50: r4(quantile(allUtils, 0.5)), p90: r4(quantile(allUtils, 0.9)) },
    migrations: {
      total: rec.series.migrations.reduce((a, b) => a + b, 0),
      perHourMean: r4(perHour.reduce((a, b) => a + b, 0) / Math.max(1, perHour.length)),
      perHourMax: maxOf(perHour),
      byCause: rec.migrationsByCause,
      meanSeconds: r4(secs.reduce((a, b) => a + b, 0) / Math.max(1, secs.length)),
      p95Seconds: r4(quantile(secs, 0.95)),
      movedGiB: r4(rec.movedMiB / 1024),
      cancelled: rec.migrationsCancelled,
    },
    violations: { ...v, stepsWithMust: samples.filter((s) => s.violations.must > 0).length },
    unplaced: { vmHours: r4(sum((s) => s.unplacedVms) * stepH), coreHours: r4(sum((s) => s.unplacedCores) * stepH), maxVms: maxOf(samples.map((s) => s.unplacedVms)) },
    cpuShortfallCoreHours: r4(sum((s) => s.cpuShortfallCores) * stepH),
    ha: { vmsLost: rec.vmsLost, restarted: restarts.length, restartP50Seconds: r4(quantile(restarts, 0.5)), restartMaxSeconds: r4(restarts[restarts.length - 1] ?? 0), neverRestarted: rec.neverRestarted() },
    doubleRuns: rec.doubleRuns,
  };
}

function maxOf(xs: number[]): number {
  return xs.reduce((m, x) => Math.max(m, x), 0);
}

function minOf(xs: number[]): number {
  return xs.length === 0 ? 0 : xs.reduce((m, x) => Math.min(m, x), Infinity);
}
