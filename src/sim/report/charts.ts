// The charts of a report, as SVG files (docs/simulator.md tells how to read
// them): active hosts over time, CPU utilization percentiles over time and
// its distribution, migrations per hour, constraint violations, unplaced
// demand.
import { barChart, lineChart } from '../svg/chart.js';
import type { SimReport } from './types.js';

const f1 = (x: number) => String(Math.round(x * 10) / 10);

export function reportCharts(r: SimReport): Record<string, string> {
  const s = r.series;
  const t = s.tHours;
  const x = 'hours';
  const baseline = t.map((_, i) => r.scenario.hosts - s.failedHosts[i]!);
  const pct = (xs: number[]) => xs.map((v) => v * 100);
  const e = r.totals.energy;
  return {
    'active-hosts.svg': lineChart(t, [
      { name: 'always-on baseline', values: baseline, step: true, color: '#7f7f7f', dashed: true },
      { name: 'active (on, booting, going to standby)', values: s.activeHosts, step: true, color: '#1f77b4' },
      { name: 'booting', values: s.bootingHosts, step: true, color: '#ff7f0e' },
    ], { title: `Active hosts — ${f1(e.hostHoursOn)} host-hours vs ${f1(e.baselineHostHours)} always on (${f1(e.savedPct)}% saved)`, xLabel: x, yLabel: 'hosts' }),
    'utilization.svg': lineChart(t, [
      { name: 'p10', values: pct(s.cpuUtil.p10) },
      { name: 'p50', values: pct(s.cpuUtil.p50) },
      { name: 'p90', values: pct(s.cpuUtil.p90) },
      { name: 'max', values: pct(s.cpuUtil.max) },
    ], { title: 'CPU utilization of the hosts that are on (demand / capacity)', xLabel: x, yLabel: '% of host CPUs' }),
    'utilization-distribution.svg': barChart(
      r.utilizationHistogram.lowerPct.map((p) => (p >= 100 ? '≥100%' : `${p}-${p + 10}%`)),
      r.utilizationHistogram.hostSteps,
      { title: 'Distribution of host CPU utilization (host-steps of hosts that are on)', xLabel: 'CPU utilization', yLabel: 'host-steps' },
    ),
    'migrations.svg': barChart(r.hourly.hour.map(String), r.hourly.migrations, {
      title: `Migrations per hour — ${r.totals.migrations.total} in all, ${f1(r.totals.migrations.movedGiB)} GiB moved`, xLabel: 'hour', yLabel: 'migrations started',
    }),
    'violations.svg': lineChart(t, [
      { name: 'must (all)', values: s.violations.must, step: true, color: '#d62728' },
      { name: 'memory', values: s.violations.memory, step: true },
      { name: 'anti-affinity', values: s.violations.antiAffinity, step: true },
      { name: 'HA admission', values: s.violations.haAdmission, step: true },
      { name: 'should', values: s.violations.should, step: true, color: '#7f7f7f' },
    ], { title: 'Constraint violations per step', xLabel: x, yLabel: 'violations' }),
    'unplaced.svg': lineChart(t, [
      { name: 'VMs not running', values: s.unplaced.vms, step: true },
      { name: 'their CPU demand (cores)', values: s.unplaced.cores, step: true },
      { name: 'CPU shortfall on overloaded hosts (cores)', values: s.cpuShortfallCores, step: true },
    ], { title: 'Unplaced demand', xLabel: x, yLabel: 'VMs / cores' }),
  };
}
