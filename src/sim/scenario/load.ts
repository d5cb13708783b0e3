// Reads a scenario file and the CSV traces it names (paths relative to the
// scenario file), so the engine itself does no I/O.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { parseAzureCpuReadings, parseBitbrainsVm, rebase, type TraceSeries } from '../traces/csv.js';
import { ScenarioError } from './fields.js';
import type { Scenario } from './types.js';
import { parseScenarioYaml } from './validate.js';

export interface LoadedScenario {
  scenario: Scenario;
  /** Series of each CSV trace, by its `path` as written in the scenario. */
  traces: Map<string, TraceSeries[]>;
}

export function loadScenarioFile(file: string): LoadedScenario {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new ScenarioError('', `cannot read scenario ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  const scenario = parseScenarioYaml(text, file);
  return { scenario, traces: loadTraces(scenario, dirname(resolve(file))) };
}

export function loadTraces(scenario: Scenario, baseDir: string): Map<string, TraceSeries[]> {
  const traces = new Map<string, TraceSeries[]>();
  scenario.vms.forEach((vm, i) => {
    const t = vm.trace;
    if (t.kind !== 'csv' || traces.has(t.path)) return;
    const field = `vms[${i}].trace.${t.format === 'azure' ? 'file' : 'dir'}`;
    const path = resolve(baseDir, t.path);
    try {
      traces.set(t.path, t.format === 'azure' ? parseAzureCpuReadings(readFileSync(path, 'utf8'), t.path) : readBitbrainsDir(path, t.path));
    } catch (err) {
      const e = err as NodeJS.ErrnoException;
      throw new ScenarioError(field, e.code ? `cannot read ${path}: ${e.code}` : e.message);
    }
  });
  return traces;
}

/** Every *.csv in the directory, in natural order (2.csv before 10.csv), one VM each. */
function readBitbrainsDir(dir: string, shown: string): TraceSeries[] {
  if (!statSync(dir).isDirectory()) throw new Error(`${shown} is not a directory of per-VM CSV files`);
  const files = readdirSync(dir).filter((n) => n.endsWith('.csv')).sort((a, b) => a.localeCompare(b, 'en', { numeric: true }));
  if (files.length === 0) throw new Error(`${shown} holds no .csv files`);
  return rebase(files.map((n) => parseBitbrainsVm(readFileSync(join(dir, n), 'utf8'), `${shown}/${n}`, n.replace(/\.csv$/, ''))), shown);
}
