// `npm run bench -- <suite>`: runs one benchmark suite, writes
// bench/results/<suite>.json and prints a table.
import { execFileSync } from 'node:child_process';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { detectHostCaps } from '../src/qemu/caps.js';
import { testKernels } from '../src/qemu/kvm-check.js';
import { newResult, printTable, writeResult, type BenchResult } from './report.js';

const suites: Record<string, () => Promise<{ run: (r: BenchResult) => Promise<void> }>> = {
  lifecycle: () => import('./lifecycle.js'),
  ha: () => import('./ha.js'),
  migration: () => import('./migration.js'),
  scheduler: () => import('./scheduler.js'),
  sim: () => import('./sim.js'),
  hotplug: () => import('./hotplug.js'),
};

const name = process.argv[2];
if (!name || !suites[name]) {
  console.error(`usage: npm run bench -- <suite>\nsuites: ${Object.keys(suites).join(', ')}`);
  process.exit(2);
}
// Measure what an operator runs: the compiled JS, built fresh.
execFileSync('npm', ['run', '--silent', 'build'], { stdio: 'inherit' });
process.env.DROVER_USE_DIST = '1';
const { kvm } = await detectHostCaps({ kernels: testKernels(process.env.DROVER_IMAGES_DIR ?? join(homedir(), '.cache', 'drover', 'images')) });
const result = newResult(name, kvm);
const mod = await suites[name]!();
await mod.run(result);
// BENCH_LOADS (and any other filter of a suite) runs a part: merge it into the last full result.
const file = writeResult(result, Boolean(process.env.BENCH_LOADS));
printTable(result);
console.log(`\nwrote ${file}`);
process.exit(0);
