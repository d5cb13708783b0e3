// npm run chaos -- --rounds N [--seed S] [--hosts H] [--vms V] [--fault NAME ...]
// Randomized rounds of the HA fault suite on a real testbed; prints a line
// per round and a summary, writes bench/results/chaos.json and the rounds in
// full to .drover/chaos-<time>.json, and exits 1 if any invariant was broken.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Command, InvalidArgumentError, Option } from 'commander';
import { newResult, printTable, writeResult, type BenchResult } from '../../bench/report.js';
import { detectHostCaps } from '../../src/qemu/caps.js';
import { testKernels } from '../../src/qemu/kvm-check.js';
import { IMAGES_DIR, REPO } from '../harness.js';
import { FAULT_NAMES, type FaultName } from './faults.js';
import { runChaos, type ChaosSummary } from './run.js';

const int = (min: number, what: string) => (v: string) => {
  const n = Number(v);
  if (!Number.isSafeInteger(n) || n < min) throw new InvalidArgumentError(`${what} must be an integer >= ${min}`);
  return n;
};

const program = new Command('chaos')
  .description('randomized HA fault rounds on a real testbed (namespace mode as root, process mode otherwise)')
  .option('--rounds <n>', 'rounds to run', int(1, '--rounds'), 20)
  .option('--seed <n>', 'seed of the fault and target choice (default: from the clock; printed)', int(0, '--seed'))
  .option('--hosts <n>', 'hosts of the testbed (3 lets two fail at once)', int(2, '--hosts'), 3)
  .option('--vms <n>', 'HA guests', int(1, '--vms'), 3)
  .addOption(new Option('--fault <name...>', 'only these faults').choices([...FAULT_NAMES]))
  .option('--cycle', 'take the faults in turn instead of at random')
  .option('--no-results', 'do not write bench/results/chaos.json (a short run that is no measurement)');

/** Whether guests run under KVM here (set at start, for the results file). */
let kvm = false;

async function main(): Promise<void> {
  kvm = (await detectHostCaps({ kernels: testKernels(IMAGES_DIR) })).kvm;
  const o = program.parse().opts<{ rounds: number; seed?: number; hosts: number; vms: number; fault?: FaultName[]; cycle?: boolean; results: boolean }>();
  const seed = o.seed ?? Date.now() % 1_000_000;
  const netns = process.getuid?.() === 0;
  const log = (line: string) => console.log(line);
  log(`chaos: ${o.rounds} round(s), seed ${seed}, ${o.hosts} hosts, ${o.vms} HA guests, ${netns ? 'namespace testbed' : 'process testbed (not root: no link or storage faults)'}`);
  const dir = join(REPO, '.drover');
  mkdirSync(dir, { recursive: true });
  const file = join(dir, `chaos-${new Date().toISOString().replace(/[:.]/g, '-')}.json`);
  const save = (s: ChaosSummary, final: boolean) => {
    writeFileSync(file, JSON.stringify(s, null, 2) + '\n');
    if (o.results) writeResult(toResult(s, o, final));
  };
  const s = await runChaos({
    rounds: o.rounds, seed, hosts: o.hosts, vms: o.vms, netns, log, onRound: (sofar) => save(sofar, false),
    ...(o.fault ? { faults: o.fault } : {}), ...(o.cycle ? { cycle: true } : {}),
  });
  save(s, true);
  log(`\nfaults injected: ${Object.entries(s.faults).map(([k, n]) => `${k} ${n}`).join(', ')}`);
  log(`failovers (VMs run again elsewhere): ${s.failovers}`);
  log(`violations: ${s.violations.length}${s.violations.length ? `\n  ${s.violations.join('\n  ')}` : ''}`);
  log(`anomalies: ${s.anomalies.length} (false failovers ${s.falseFailovers})${s.anomalies.length ? `\n  ${s.anomalies.join('\n  ')}` : ''}`);
  log(`recovery: p50 ${s.recoverMs.p50} ms, p95 ${s.recoverMs.p95} ms; rounds in full: ${file}`);
  if (o.results) printTable(toResult(s, o, true));
  process.exitCode = s.violations.length ? 1 : 0;
}

/** bench/results/chaos.json: the summary's numbers (written after every round; `final` false marks a run still going or cut short). */
function toResult(s: ChaosSummary, o: { rounds: number; hosts: number; vms: number }, final: boolean): BenchResult {
  const r = newResult('chaos', kvm);
  const note = `${s.mode} testbed, ${o.hosts} hosts, ${o.vms} HA guests, seed ${s.seed}; faults ${Object.entries(s.faults).map(([k, n]) => `${k} ${n}`).join(', ')}${final ? '' : `; ${s.rounds} of ${o.rounds} rounds so far`}`;
  r.metrics['rounds'] = { value: s.rounds, unit: 'rounds', note };
  r.metrics['violations'] = { value: s.violations.length, unit: 'violations', note: 'two QEMUs of one VM, an acknowledged write lost, a VM not running again; must be 0' };
  r.metrics['false_failovers'] = { value: s.falseFailovers, unit: 'failovers', note: 'a VM restarted though its host was not failed' };
  r.metrics['anomalies'] = { value: s.anomalies.length, unit: 'anomalies', note: 'false failovers, VMs restarted twice, VMs of a failed host not restarted' };
  r.metrics['failovers'] = { value: s.failovers, unit: 'VM restarts' };
  r.metrics['recover'] = s.recoverMs;
  return r;
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : err);
  process.exitCode = 2;
});
