// Benchmark suite `sim` (issue 4): one simulated day of 1,000 hosts and
// 20,000 VMs at 5-minute steps (scenarios/day-1000x20000.yaml) with the real
// planner, balancing and power management on.
// - wall time of the whole simulation (target at most 60 s on this 2-core
//   machine), split into the time spent in the planner and the simulator's own,
//   and the CPU time it used (these machines are shared: wall time suffers
//   from other load, which the load average in its note shows);
// - the energy proxy: host-hours on, against a baseline that keeps every host
//   on all day, and the saving;
// - what the day looked like: migrations, must violations, CPU shortfall,
//   unplaced demand.
// BENCH_SIM_SCENARIO=FILE runs another scenario instead.
import { loadavg } from 'node:os';
import { plan } from '../src/core/planner/index.js';
import { simulate } from '../src/sim/engine/simulate.js';
import type { Planner } from '../src/sim/planner-port.js';
import { loadScenarioFile } from '../src/sim/scenario/load.js';
import type { BenchResult } from './report.js';

const SCENARIO = process.env.BENCH_SIM_SCENARIO ?? new URL('../scenarios/day-1000x20000.yaml', import.meta.url).pathname;
const r1 = (x: number) => Math.round(x * 10) / 10;

export async function run(r: BenchResult): Promise<void> {
  const t0 = performance.now();
  const loaded = loadScenarioFile(SCENARIO);
  const loadMs = performance.now() - t0;
  let plannerMs = 0;
  let calls = 0;
  const timed: Planner = (snapshot, goal) => {
    const s = performance.now();
    try {
      return plan(snapshot, goal);
    } finally {
      plannerMs += performance.now() - s;
      calls++;
    }
  };
  let peakRss = process.memoryUsage().rss;
  const cpu0 = process.cpuUsage();
  const started = performance.now();
  const report = simulate(loaded, { planner: timed, onStep: () => (peakRss = Math.max(peakRss, process.memoryUsage().rss)) });
  const wallS = (performance.now() - started) / 1000;
  const cpu = process.cpuUsage(cpu0);
  const cpuS = (cpu.user + cpu.system) / 1e6;
  const t = report.totals;
  const sc = report.scenario;
  const what = `${sc.hosts} hosts, ${sc.vms} VMs, ${sc.durationHours} h at ${sc.stepMinutes} min steps`;
  r.metrics = {
    wall_time: { value: r1(wallS), unit: 's', note: `${what}; target <= 60 s; scenario load ${Math.round(loadMs)} ms not included` },
    cpu_time: { value: r1(cpuS), unit: 's', note: `user + system CPU of this process (GC threads included); less sensitive than wall time to other load on the machine: load average ${loadavg().map((x) => x.toFixed(1)).join(' ')} at the end` },
    planner_time: { value: r1(plannerMs / 1000), unit: 's', n: calls, note: `inside plan(): ${JSON.stringify(report.planner.calls)}` },
    simulator_time: { value: r1(wallS - plannerMs / 1000), unit: 's', note: 'wall time outside the planner: hosts, traces, snapshots, metrics' },
    steps_per_s: { value: r1(report.series.tHours.length / wallS), unit: 'steps/s', n: report.series.tHours.length },
    host_hours_on: { value: r1(t.energy.hostHoursOn), unit: 'host-h', note: 'energy proxy: hosts on, booting or going to standby' },
    baseline_host_hours: { value: r1(t.energy.baselineHostHours), unit: 'host-h', note: 'every host on all day' },
    energy_saved: { value: r1(t.energy.savedPct), unit: '%' },
    active_hosts: { value: r1(t.activeHosts.mean), unit: 'hosts', note: `mean; min ${t.activeHosts.min}, max ${t.activeHosts.max}` },
    migrations: { value: t.migrations.total, unit: 'migrations', note: `max ${t.migrations.perHourMax}/h; ${JSON.stringify(t.migrations.byCause)}; mean ${r1(t.migrations.meanSeconds)} s` },
    must_violations: { value: t.violations.must, unit: 'violation-steps' },
    cpu_shortfall: { value: r1(t.cpuShortfallCoreHours), unit: 'core-h', note: `CPU demand above the capacity of overloaded hosts; host CPU use p50 ${Math.round(t.cpuUtil.p50 * 100)}%, p90 ${Math.round(t.cpuUtil.p90 * 100)}%` },
    unplaced: { value: r1(t.unplaced.vmHours), unit: 'VM-h' },
    peak_rss: { value: Math.round(peakRss / 1048576), unit: 'MiB' },
  };
}
