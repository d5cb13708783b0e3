// Small scenarios for the simulator's tests, written as the YAML would be
// (plain objects), validated like a file.
import type { LoadedScenario } from '../scenario/load.js';
import { validateScenario } from '../scenario/validate.js';

export function scenarioObject(over: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    name: 'tiny',
    duration: '2h',
    step: '5m',
    hosts: [{ name: 'h', count: 3, cpus: 16, memory: '64GiB', bootSeconds: 120 }],
    vms: [{ name: 'vm', count: 6, cpus: 2, memory: '8GiB', trace: { kind: 'diurnal', min: 0.2, max: 0.6 } }],
    policies: { balance: { automation: 'off' } },
    ...over,
  };
}

export function loaded(over: Record<string, unknown> = {}): LoadedScenario {
  return { scenario: validateScenario(scenarioObject(over)), traces: new Map() };
}
