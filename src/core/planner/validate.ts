// Checks a snapshot that came from outside (a file, another tool) and names
// the first bad field: `hosts[3].memoryMiB must be a positive integer`.
// Unknown fields are ignored, so newer tools can add some.
import type { ClusterSnapshot } from './snapshot.js';

export class SnapshotError extends Error {
  constructor(readonly field: string, readonly problem: string) {
    super(`${field} ${problem}`);
    this.name = 'SnapshotError';
  }
}

type Obj = Record<string, unknown>;

function isObj(x: unknown): x is Obj {
  return typeof x === 'object' && x !== null && !Array.isArray(x);
}

function fail(field: string, problem: string): never {
  throw new SnapshotError(field, problem);
}

function obj(x: unknown, field: string): Obj {
  return isObj(x) ? x : fail(field, 'must be an object');
}

function arr(x: unknown, field: string): unknown[] {
  return Array.isArray(x) ? x : fail(field, 'must be an array');
}

function str(o: Obj, key: string, field: string): string {
  const v = o[key];
  return typeof v === 'string' && v !== '' ? v : fail(`${field}.${key}`, 'must be a non-empty string');
}

function num(o: Obj, key: string, field: string, kind: 'positive-int' | 'count' | 'non-negative' | 'number' | 'positive', optional: boolean): void {
  const v = o[key];
  if (v === undefined && optional) return;
  const f = `${field}.${key}`;
  if (typeof v !== 'number' || !Number.isFinite(v)) fail(f, 'must be a number');
  if (kind === 'positive-int' && (!Number.isSafeInteger(v) || v <= 0)) fail(f, 'must be a positive integer');
  if (kind === 'count' && (!Number.isSafeInteger(v) || v < 0)) fail(f, 'must be an integer >= 0');
  if (kind === 'non-negative' && v < 0) fail(f, 'must be >= 0');
  if (kind === 'positive' && v <= 0) fail(f, 'must be > 0');
}

function oneOf(o: Obj, key: string, field: string, allowed: readonly string[], optional = false): void {
  const v = o[key];
  if (v === undefined && optional) return;
  if (typeof v !== 'string' || !allowed.includes(v)) fail(`${field}.${key}`, `must be one of ${allowed.map((a) => `"${a}"`).join(', ')}`);
}

function labels(x: unknown, field: string): void {
  if (x === undefined) return;
  for (const [k, v] of Object.entries(obj(x, field))) if (typeof v !== 'string') fail(`${field}.${k}`, 'must be a string');
}

function unique(ids: string[], field: (i: number) => string): void {
  const seen = new Set<string>();
  ids.forEach((id, i) => {
    if (seen.has(id)) fail(`${field(i)}.id`, `repeats id "${id}"`);
    seen.add(id);
  });
}

function checkHost(x: unknown, i: number): string {
  const f = `hosts[${i}]`;
  const h = obj(x, f);
  const id = str(h, 'id', f);
  num(h, 'cpus', f, 'positive-int', false);
  num(h, 'memoryMiB', f, 'positive-int', false);
  oneOf(h, 'state', f, ['ready', 'maintenance', 'standby']);
  labels(h.labels, `${f}.labels`);
  num(h, 'diskGiB', f, 'non-negative', true);
  num(h, 'reservedCpus', f, 'non-negative', true);
  num(h, 'reservedMemoryMiB', f, 'non-negative', true);
  if (((h.reservedCpus as number | undefined) ?? 0) >= (h.cpus as number)) fail(`${f}.reservedCpus`, 'must be less than cpus');
  if (((h.reservedMemoryMiB as number | undefined) ?? 0) >= (h.memoryMiB as number)) fail(`${f}.reservedMemoryMiB`, 'must be less than memoryMiB');
  num(h, 'maxMigrations', f, 'positive-int', true);
  num(h, 'bootSeconds', f, 'non-negative', true);
  return id;
}

function checkVm(x: unknown, i: number, groupIds: Set<string>): string {
  const f = `vms[${i}]`;
  const v = obj(x, f);
  const id = str(v, 'id', f);
  num(v, 'cpus', f, 'positive-int', false);
  num(v, 'memoryMiB', f, 'positive-int', false);
  if (v.host !== null && (typeof v.host !== 'string' || v.host === '')) fail(`${f}.host`, 'must be a host id or null');
  for (const k of ['cpuUsage', 'memoryUsageMiB', 'localDiskGiB', 'dirtyMiBs']) num(v, k, f, 'non-negative', true);
  num(v, 'priority', f, 'number', true);
  num(v, 'lastMovedAtMs', f, 'number', true);
  num(v, 'lastResizedAtMs', f, 'number', true);
  num(v, 'maxCpus', f, 'positive-int', true);
  if (typeof v.maxCpus === 'number' && v.maxCpus < (v.cpus as number)) fail(`${f}.maxCpus`, 'must be >= cpus');
  if (v.migratingTo !== undefined && (typeof v.migratingTo !== 'string' || v.migratingTo === '')) fail(`${f}.migratingTo`, 'must be a host id');
  if (v.ha !== undefined && typeof v.ha !== 'boolean') fail(`${f}.ha`, 'must be true or false');
  if (v.groups !== undefined) {
    arr(v.groups, `${f}.groups`).forEach((g, j) => {
      if (typeof g !== 'string' || !groupIds.has(g)) fail(`${f}.groups[${j}]`, `must name a group in groups (got ${JSON.stringify(g)})`);
    });
  }
  if (v.hostRules !== undefined) {
    arr(v.hostRules, `${f}.hostRules`).forEach((r, j) => {
      const rf = `${f}.hostRules[${j}]`;
      labels(obj(r, rf).labels ?? fail(`${rf}.labels`, 'must be an object'), `${rf}.labels`);
      oneOf(obj(r, rf), 'strength', rf, ['must', 'should']);
    });
  }
  return id;
}

function checkGroup(x: unknown, i: number, vmIds: Set<string>): void {
  const f = `groups[${i}]`;
  const g = obj(x, f);
  str(g, 'id', f);
  oneOf(g, 'kind', f, ['affinity', 'anti-affinity']);
  oneOf(g, 'strength', f, ['must', 'should']);
  arr(g.vms, `${f}.vms`).forEach((v, j) => {
    if (typeof v !== 'string' || !vmIds.has(v)) fail(`${f}.vms[${j}]`, `must name a VM in vms (got ${JSON.stringify(v)})`);
  });
}

function checkPool(x: unknown, i: number, ids: Set<string>): void {
  const f = `pools[${i}]`;
  const p = obj(x, f);
  const parent = p.parent;
  if (parent !== undefined && (typeof parent !== 'string' || !ids.has(parent) || parent === p.id)) fail(`${f}.parent`, `must name another pool in pools (got ${JSON.stringify(parent)})`);
  for (const [key, fields] of [['cpu', ['reservationCores', 'limitCores']], ['memory', ['reservationMiB', 'limitMiB']]] as const) {
    if (p[key] === undefined) continue;
    const r = obj(p[key], `${f}.${key}`);
    for (const k of fields) num(r, k, `${f}.${key}`, 'non-negative', true);
    const [res, lim] = [r[fields[0]], r[fields[1]]];
    if (typeof res === 'number' && typeof lim === 'number' && res > lim) fail(`${f}.${key}.${fields[0]}`, `must be at most ${fields[1]} (${lim})`);
  }
}

/** Pool ids unique, parents known and top-level (one level of nesting), each VM's pool known. */
function checkPools(x: unknown, vms: unknown[]): void {
  if (x === undefined) return;
  const pools = arr(x, 'pools');
  const ids = pools.map((p, i) => str(obj(p, `pools[${i}]`), 'id', `pools[${i}]`));
  unique(ids, (i) => `pools[${i}]`);
  const idSet = new Set(ids);
  pools.forEach((p, i) => checkPool(p, i, idSet));
  const parentOf = new Map(pools.map((p) => [(p as Obj).id as string, (p as Obj).parent as string | undefined]));
  pools.forEach((p, i) => {
    const parent = (p as Obj).parent as string | undefined;
    if (parent !== undefined && parentOf.get(parent) !== undefined) fail(`pools[${i}].parent`, `must be a top-level pool (${parent} has a parent itself: one level of nesting)`);
  });
  vms.forEach((v, i) => {
    const pool = (v as Obj).pool;
    if (pool !== undefined && (typeof pool !== 'string' || !idSet.has(pool))) fail(`vms[${i}].pool`, `must name a pool in pools (got ${JSON.stringify(pool)})`);
  });
}

function checkPolicy(x: unknown): void {
  if (x === undefined) return;
  const p = obj(x, 'policy');
  if (p.overcommit !== undefined) {
    const o = obj(p.overcommit, 'policy.overcommit');
    num(o, 'cpu', 'policy.overcommit', 'positive', true);
    num(o, 'memory', 'policy.overcommit', 'positive', true);
  }
  num(p, 'headroom', 'policy', 'non-negative', true);
  if (typeof p.headroom === 'number' && p.headroom >= 1) fail('policy.headroom', 'must be below 1 (a fraction of capacity)');
  num(p, 'failures', 'policy', 'count', true);
  oneOf(p, 'placement', 'policy', ['spread', 'pack'], true);
  num(p, 'migrationsPerHost', 'policy', 'positive-int', true);
  if (p.balance !== undefined) {
    const b = obj(p.balance, 'policy.balance');
    num(b, 'threshold', 'policy.balance', 'non-negative', true);
    num(b, 'maxMoves', 'policy.balance', 'count', true);
    num(b, 'cooldownMs', 'policy.balance', 'non-negative', true);
    oneOf(b, 'automation', 'policy.balance', ['off', 'recommend', 'automatic'], true);
  }
  if (p.balanceCost !== undefined) {
    const c = obj(p.balanceCost, 'policy.balanceCost');
    for (const k of ['horizonS', 'bandwidthMiBs']) num(c, k, 'policy.balanceCost', 'positive', true);
    for (const k of ['costWeight', 'hysteresis']) num(c, k, 'policy.balanceCost', 'non-negative', true);
  }
  if (p.power !== undefined) {
    const w = obj(p.power, 'policy.power');
    num(w, 'lookaheadMs', 'policy.power', 'non-negative', true);
    num(w, 'minHostsOn', 'policy.power', 'count', true);
  }
  if (p.grow !== undefined) {
    const g = obj(p.grow, 'policy.grow');
    for (const k of ['cpuAt', 'targetUtil']) {
      num(g, k, 'policy.grow', 'positive', true);
      if (typeof g[k] === 'number' && g[k] > 1) fail(`policy.grow.${k}`, 'must be at most 1 (a fraction of the VM\'s vCPUs)');
    }
    num(g, 'cooldownMs', 'policy.grow', 'non-negative', true);
  }
}

/** Returns the snapshot typed, or throws SnapshotError naming the first bad field. */
export function validateSnapshot(x: unknown): ClusterSnapshot {
  const s = obj(x, 'snapshot');
  num(s, 'nowMs', 'snapshot', 'number', true);
  const hosts = arr(s.hosts, 'hosts');
  const vms = arr(s.vms, 'vms');
  const groups = s.groups === undefined ? [] : arr(s.groups, 'groups');
  unique(hosts.map(checkHost), (i) => `hosts[${i}]`);
  const groupIds = new Set(groups.map((g, i) => str(obj(g, `groups[${i}]`), 'id', `groups[${i}]`)));
  unique(groups.map((g, i) => str(obj(g, `groups[${i}]`), 'id', `groups[${i}]`)), (i) => `groups[${i}]`);
  const vmIds = vms.map((v, i) => checkVm(v, i, groupIds));
  unique(vmIds, (i) => `vms[${i}]`);
  const vmSet = new Set(vmIds);
  groups.forEach((g, i) => checkGroup(g, i, vmSet));
  checkPools(s.pools, vms);
  checkPolicy(s.policy);
  if (s.forecast !== undefined) {
    arr(s.forecast, 'forecast').forEach((p, i) => {
      const f = `forecast[${i}]`;
      num(obj(p, f), 'atMs', f, 'number', false);
      num(obj(p, f), 'cpu', f, 'non-negative', false);
      num(obj(p, f), 'memoryMiB', f, 'non-negative', false);
    });
  }
  return x as ClusterSnapshot;
}
