// YAML → Scenario, with an error naming the field for anything wrong (see
// fields.ts). Defaults are filled in here, so the engine sees every value.
import { parse as parseYaml } from 'yaml';
import { Fields, ScenarioError } from './fields.js';
import { eventSpec } from './validate-events.js';
import { policySpec, timingSpec } from './validate-policies.js';
import { traceSpec } from './validate-trace.js';
import type { GroupSpec, HostGroupSpec, HostRule, Scenario, VmGroupSpec } from './types.js';

const TOP = ['name', 'description', 'seed', 'duration', 'step', 'hosts', 'vms', 'groups', 'policies', 'timing', 'events'];
const NAME = /^[a-z0-9]([a-z0-9-]*[a-z0-9])?$/;
const MAX_STEPS = 1_000_000;

export function parseScenarioYaml(text: string, file = 'scenario'): Scenario {
  let raw: unknown;
  try {
    raw = parseYaml(text);
  } catch (err) {
    throw new ScenarioError('', `${file} is not valid YAML: ${(err as Error).message}`);
  }
  return validateScenario(raw);
}

export function validateScenario(raw: unknown): Scenario {
  const f = Fields.of(raw, '', TOP);
  const durationMs = f.durationMs('duration');
  const stepMs = f.durationMs('step');
  if (stepMs <= 0) f.fail('step', 'must be longer than 0');
  if (durationMs < stepMs) f.fail('duration', `must be at least one step (${stepMs / 1000} s)`);
  if (durationMs / stepMs > MAX_STEPS) f.fail('step', `gives ${Math.ceil(durationMs / stepMs)} steps; at most ${MAX_STEPS}`);
  const hosts = f.list('hosts', true).map((h, i) => hostGroup(h, `hosts[${i}]`));
  if (hosts.length === 0) f.fail('hosts', 'must list at least one host group');
  const groups = f.list('groups').map((g, i) => groupSpec(g, `groups[${i}]`));
  const vms = f.list('vms', true).map((v, i) => vmGroup(v, `vms[${i}]`, groups));
  unique(hosts.map((h) => h.name), 'hosts', 'name');
  unique(vms.map((v) => v.name), 'vms', 'name');
  unique(groups.map((g) => g.id), 'groups', 'id');
  const hostIds = new Set(hosts.flatMap((h) => Array.from({ length: h.count }, (_, i) => `${h.name}-${i}`)));
  const policies = policySpec(f.get('policies'), 'policies');
  const events = f.list('events').map((e, i) => eventSpec(e, `events[${i}]`, hostIds, new Set(vms.map((v) => v.name))));
  return {
    name: f.str('name'),
    description: f.has('description') ? f.str('description') : '',
    seed: f.int('seed', 1, 0, 0xffffffff),
    durationMs, stepMs, hosts, vms, groups, policies,
    timing: timingSpec(f.get('timing'), 'timing'),
    events: [...events].sort((a, b) => a.atMs - b.atMs),
  };
}

function hostGroup(v: unknown, path: string): HostGroupSpec {
  const f = Fields.of(v, path, ['name', 'count', 'cpus', 'memory', 'labels', 'reservedCpus', 'reservedMemory', 'bootSeconds', 'standbySeconds', 'standby', 'maxMigrations', 'migrationBandwidthMiBs']);
  const count = f.int('count', undefined, 1, 1_000_000);
  return {
    name: name(f),
    count,
    cpus: f.int('cpus', undefined, 1, 4096),
    memoryMiB: f.sizeMiB('memory'),
    labels: f.labels('labels'),
    reservedCpus: f.num('reservedCpus', 0, { min: 0 }),
    reservedMemoryMiB: f.has('reservedMemory') ? f.sizeMiB('reservedMemory') : 0,
    bootSeconds: f.num('bootSeconds', 180, { min: 0 }),
    standbySeconds: f.num('standbySeconds', 30, { min: 0 }),
    standby: f.int('standby', 0, 0, count),
    ...(f.has('maxMigrations') ? { maxMigrations: f.int('maxMigrations', 2, 1) } : {}),
    migrationBandwidthMiBs: f.num('migrationBandwidthMiBs', 1000, { min: 1 }),
  };
}

function vmGroup(v: unknown, path: string, groups: GroupSpec[]): VmGroupSpec {
  const f = Fields.of(v, path, ['name', 'count', 'cpus', 'memory', 'groups', 'ha', 'priority', 'dirtyMiBs', 'hostRules', 'trace', 'start', 'stop']);
  const memberOf = f.strings('groups');
  memberOf.forEach((g, i) => {
    if (!groups.some((x) => x.id === g)) throw new ScenarioError(`${f.field('groups')}[${i}]`, `no group "${g}" in groups (known: ${groups.map((x) => x.id).join(', ') || 'none'})`);
  });
  const startMs = f.durationMs('start', 0);
  const stopMs = f.has('stop') ? f.durationMs('stop') : undefined;
  if (stopMs !== undefined && stopMs <= startMs) f.fail('stop', 'must be later than start');
  if (!f.has('trace')) f.fail('trace', 'is required (kind: diurnal, bursty, step or csv)');
  return {
    name: name(f),
    count: f.int('count', undefined, 1, 10_000_000),
    cpus: f.int('cpus', undefined, 1, 1024),
    memoryMiB: f.sizeMiB('memory'),
    groups: memberOf,
    ha: f.bool('ha', false),
    priority: f.int('priority', 0, -1000, 1000),
    dirtyMiBs: f.num('dirtyMiBs', 20, { min: 0 }),
    hostRules: f.list('hostRules').map((r, i) => hostRule(r, `${f.field('hostRules')}[${i}]`)),
    trace: traceSpec(f.get('trace'), f.field('trace')),
    startMs,
    ...(stopMs !== undefined ? { stopMs } : {}),
  };
}

function hostRule(v: unknown, path: string): HostRule {
  const f = Fields.of(v, path, ['labels', 'strength']);
  const labels = f.labels('labels');
  if (Object.keys(labels).length === 0) f.fail('labels', 'must name at least one label (key: value)');
  return { labels, strength: f.oneOf('strength', ['must', 'should'] as const, 'must') };
}

function groupSpec(v: unknown, path: string): GroupSpec {
  const f = Fields.of(v, path, ['id', 'kind', 'strength', 'size']);
  const id = f.str('id');
  if (!NAME.test(id)) f.fail('id', 'must be lower-case letters, digits and dashes');
  return {
    id,
    kind: f.oneOf('kind', ['affinity', 'anti-affinity'] as const),
    strength: f.oneOf('strength', ['must', 'should'] as const, 'must'),
    ...(f.has('size') ? { size: f.int('size', 2, 2) } : {}),
  };
}

function name(f: Fields): string {
  const n = f.str('name');
  if (!NAME.test(n)) f.fail('name', `must be lower-case letters, digits and dashes (e.g. web, rack-a), not "${n}"`);
  return n;
}

function unique(names: string[], list: string, key: string): void {
  names.forEach((n, i) => {
    if (names.indexOf(n) !== i) throw new ScenarioError(`${list}[${i}].${key}`, `"${n}" is used twice`);
  });
}
