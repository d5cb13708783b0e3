// `drover sim run SCENARIO.yaml`: the simulator (digital twin). Like testbed,
// it runs locally instead of calling the API: it simulates the scenario with
// the real planner on virtual hosts and writes report.json and SVG charts
// (docs/simulator.md).
import { Command } from 'commander';
import { isAbsolute, join, resolve } from 'node:path';
import { plan } from '../../core/planner/index.js';
import { simulate } from '../../sim/engine/simulate.js';
import { writeReport } from '../../sim/output.js';
import type { Planner } from '../../sim/planner-port.js';
import type { SimReport } from '../../sim/report/types.js';
import { ScenarioError } from '../../sim/scenario/fields.js';
import { loadScenarioFile, type LoadedScenario } from '../../sim/scenario/load.js';
import { action, type Ctx } from '../context.js';
import { writeLine } from '../io.js';
import type { CliIo } from '../io.js';
import { printJson, UsageError } from '../output.js';
import { parseCount } from '../parse.js';

interface RunOpts {
  out?: string;
  seed?: string;
}

/** `planner` is the real one; tests pass their own. */
export function simCommand(io: CliIo, planner: Planner = plan): Command {
  const sim = new Command('sim').description('The simulator: the real planner on simulated hosts, for capacity planning and what-if questions');
  sim.command('run')
    .description('Simulate a scenario (YAML) and write report.json and SVG charts')
    .argument('<scenario>', 'scenario file (see scenarios/ and docs/simulator.md)')
    .option('--out <dir>', 'where to write the report (default sim-out/<scenario name>)')
    .option('--seed <n>', "seed for the scenario's randomness (default: the scenario's seed)")
    .addHelpText('after', '\nExamples:\n  drover sim run scenarios/power-savings.yaml\n  drover sim run scenarios/failure.yaml --seed 2 --out /tmp/failure --json')
    .action(action(io, (ctx: Ctx, o: RunOpts, file: string) => run(ctx, o, file, planner)));
  return sim;
}

async function run(ctx: Ctx, o: RunOpts, file: string, planner: Planner): Promise<void> {
  const seed = o.seed === undefined ? undefined : parseCount(o.seed, '--seed', 0, 0xffffffff);
  const path = isAbsolute(file) ? file : resolve(ctx.io.cwd, file);
  const loaded = load(path, file);
  const started = performance.now();
  const report = simulate(loaded, { planner, ...(seed !== undefined ? { seed } : {}) });
  const wallMs = Math.round(performance.now() - started);
  const dir = resolve(ctx.io.cwd, o.out ?? join('sim-out', loaded.scenario.name));
  const files = writeReport(dir, report);
  if (ctx.json) return printJson(ctx.io.stdout, { scenario: report.scenario, totals: report.totals, wallMs, files });
  writeLine(ctx.io.stdout, summary(report, wallMs, dir));
}

function load(path: string, shown: string): LoadedScenario {
  try {
    return loadScenarioFile(path);
  } catch (err) {
    if (err instanceof ScenarioError) throw new UsageError(`scenario ${shown}: ${err.message}`, err.field || undefined);
    throw err;
  }
}

const f1 = (x: number) => String(Math.round(x * 10) / 10);

function summary(r: SimReport, wallMs: number, dir: string): string {
  const t = r.totals;
  const s = r.scenario;
  return [
    `Simulated "${s.name}": ${s.hosts} hosts, ${s.vms} VMs, ${s.durationHours} h at ${s.stepMinutes}-minute steps (seed ${s.seed}) in ${(wallMs / 1000).toFixed(1)} s.`,
    `  Energy       ${f1(t.energy.hostHoursOn)} host-hours on vs ${f1(t.energy.baselineHostHours)} always on (${t.energy.savedPct.toFixed(1)}% saved)`,
    `  Hosts on     mean ${t.activeHosts.mean.toFixed(1)}, min ${t.activeHosts.min}, max ${t.activeHosts.max}`,
    `  CPU use      p50 ${(t.cpuUtil.p50 * 100).toFixed(0)}%, p90 ${(t.cpuUtil.p90 * 100).toFixed(0)}% of the hosts that are on; shortfall ${f1(t.cpuShortfallCoreHours)} core-hours`,
    `  Migrations   ${t.migrations.total} (${t.migrations.perHourMean.toFixed(1)}/h, max ${t.migrations.perHourMax}/h), ${f1(t.migrations.movedGiB)} GiB, mean ${t.migrations.meanSeconds.toFixed(1)} s`,
    `  Violations   ${t.violations.must} must (${t.violations.stepsWithMust} steps), ${t.violations.should} should`,
    `  Unplaced     ${f1(t.unplaced.vmHours)} VM-hours, ${f1(t.unplaced.coreHours)} core-hours (max ${t.unplaced.maxVms} VMs at once)`,
    `  HA           ${t.ha.vmsLost} VMs lost, ${t.ha.restarted} restarted (p50 ${t.ha.restartP50Seconds} s), ${t.ha.neverRestarted} not restarted`,
    `Report and charts in ${dir}`,
  ].join('\n');
}
