import { readdirSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { scenarioObject } from '../test-support/scenarios.js';
import { parseDurationMs, ScenarioError } from './fields.js';
import { loadScenarioFile } from './load.js';
import { parseScenarioYaml, validateScenario } from './validate.js';

const SCENARIOS = new URL('../../../scenarios/', import.meta.url).pathname;

function errorOf(raw: unknown): ScenarioError {
  try {
    validateScenario(raw);
  } catch (err) {
    if (err instanceof ScenarioError) return err;
    throw err;
  }
  throw new Error('the scenario was accepted');
}

describe('scenario validation', () => {
  it('fills in the defaults', () => {
    const s = validateScenario(scenarioObject());
    expect(s).toMatchObject({ name: 'tiny', seed: 1, durationMs: 7_200_000, stepMs: 300_000, events: [], groups: [] });
    expect(s.hosts[0]).toMatchObject({ count: 3, memoryMiB: 65536, bootSeconds: 120, standbySeconds: 30, standby: 0, labels: {}, migrationBandwidthMiBs: 1000 });
    expect(s.vms[0]).toMatchObject({ memoryMiB: 8192, ha: false, dirtyMiBs: 20, startMs: 0, trace: { kind: 'diurnal', min: 0.2, max: 0.6, peakHour: 14, noise: 0.03 } });
    expect(s.policies).toMatchObject({ balance: { automation: 'off', intervalMs: 0 }, power: { enabled: false }, planner: { placement: 'spread', headroom: 0.2, failures: 1 } });
    expect(s.timing).toEqual({ vmStartSeconds: 30, migrationSetupSeconds: 2, failureDetectSeconds: 10 });
  });

  it('names the field and what it allows', () => {
    const vms = (trace: unknown) => scenarioObject({ vms: [0, 1, 2].map((i) => ({ name: `g${i}`, count: 1, cpus: 1, memory: 512, trace: i === 2 ? trace : { kind: 'step', levels: [{ at: 0, cpu: 0.5 }] } })) });
    const cases: Array<[unknown, string]> = [
      [vms({ kind: 'sine' }), 'vms[2].trace.kind: must be diurnal, bursty, step or csv, not "sine"'],
      [vms({ kind: 'diurnal', min: 0.8, max: 0.2 }), 'vms[2].trace.max: must be at least min (0.8), not 0.2'],
      [vms({ kind: 'diurnal', peak: 3 }), 'vms[2].trace.peak: unknown field; known fields here: kind, noise, memory, min, max, peakHour, jitterHours, spread, memorySwing'],
      [vms({ kind: 'csv', format: 'azure', dir: 'x' }), 'vms[2].trace.dir: is not used by format azure; give file: (one vm_cpu_readings CSV file)'],
      [vms({ kind: 'step', levels: [{ at: '2h', cpu: 0.1 }, { at: '1h', cpu: 0.2 }] }), 'vms[2].trace.levels[1].at: must be later than the level before it'],
      [scenarioObject({ step: 'soon' }), 'step: must be a duration such as 90s, 5m, 2h, 1d (a plain number is seconds), not "soon"'],
      [scenarioObject({ duration: '1m' }), 'duration: must be at least one step (300 s)'],
      [scenarioObject({ hosts: [{ name: 'h', count: 0, cpus: 4, memory: '8G' }] }), 'hosts[0].count: must be at least 1, not 0'],
      [scenarioObject({ hosts: [{ name: 'h', count: 1, cpus: 4, memory: '8X' }] }), 'hosts[0].memory: unknown unit "X"; use K, M, G or T (binary: 1G = 1024 MiB)'],
      [scenarioObject({ hosts: [{ name: 'Rack_A', count: 1, cpus: 4, memory: '8G' }] }), 'hosts[0].name: must be lower-case letters, digits and dashes (e.g. web, rack-a), not "Rack_A"'],
      [scenarioObject({ events: [{ at: '1h', kind: 'host-failure', host: 'h-9' }] }), 'events[0].host: no host "h-9"; hosts are named NAME-INDEX after their group (e.g. h-0, h-1, h-2)'],
      [scenarioObject({ events: [{ at: '1h', kind: 'load', vms: 'db', factor: 2 }] }), 'events[0].vms: must name a VM group (vm), not "db"'],
      [scenarioObject({ events: [{ at: '1h', kind: 'maintenance', host: 'h-0', until: '30m' }] }), 'events[0].until: must be later than at'],
      [scenarioObject({ events: [{ at: '1h', kind: 'reboot', host: 'h-0' }] }), 'events[0].kind: must be host-failure, host-repair, maintenance or load, not "reboot"'],
      [scenarioObject({ policies: { balance: { automation: 'auto' } } }), 'policies.balance.automation: must be off, recommend or automatic, not "auto"'],
      [scenarioObject({ vms: [{ name: 'a', count: 1, cpus: 1, memory: 512, groups: ['x'], trace: { kind: 'bursty' } }] }), 'vms[0].groups[0]: no group "x" in groups (known: none)'],
      [scenarioObject({ vms: [{ name: 'a', count: 1, cpus: 1, memory: 512 }] }), 'vms[0].trace: is required (kind: diurnal, bursty, step or csv)'],
      [scenarioObject({ hosts: [{ name: 'h', count: 1, cpus: 4, memory: '8G' }, { name: 'h', count: 1, cpus: 4, memory: '8G' }] }), 'hosts[1].name: "h" is used twice'],
      [{ ...scenarioObject(), colour: 'red' }, 'colour: unknown field; known fields here: name, description, seed, duration, step, hosts, vms, groups, policies, timing, events'],
    ];
    for (const [raw, message] of cases) expect(errorOf(raw).message).toBe(message);
    expect(errorOf(vms({ kind: 'sine' })).field).toBe('vms[2].trace.kind');
  });

  it('reads durations and reports YAML syntax errors', () => {
    expect(parseDurationMs('1h30m')).toBe(5_400_000);
    expect(parseDurationMs(90)).toBe(90_000);
    expect(parseDurationMs('250ms')).toBe(250);
    expect(parseDurationMs('1 week')).toBeNull();
    expect(() => parseScenarioYaml('name: [unclosed', 'bad.yaml')).toThrow(/^bad\.yaml is not valid YAML/);
  });

  it('accepts every shipped scenario', () => {
    const files = readdirSync(SCENARIOS).filter((f) => f.endsWith('.yaml'));
    expect(files).toEqual(expect.arrayContaining(['small-diurnal.yaml', 'failure.yaml', 'maintenance.yaml', 'power-savings.yaml', 'azure-sample.yaml', 'bitbrains-sample.yaml', 'day-1000x20000.yaml']));
    for (const f of files) expect(() => loadScenarioFile(`${SCENARIOS}${f}`), f).not.toThrow();
  });
});
