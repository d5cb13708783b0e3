// `policies:` (what the planner is told, and which passes the simulator
// runs) and `timing:` (how long real-world operations take).
import type { PlannerPolicy } from '../../core/planner/snapshot.js';
import { Fields } from './fields.js';
import type { PolicySpec, TimingSpec } from './types.js';

const AUTOMATION = ['off', 'recommend', 'automatic'] as const;

export function policySpec(v: unknown, path: string): PolicySpec {
  const f = Fields.of(v ?? {}, path, ['placement', 'overcommit', 'headroom', 'failures', 'migrationsPerHost', 'balance', 'power']);
  const planner: PlannerPolicy = {
    placement: f.oneOf('placement', ['spread', 'pack'] as const, 'spread'),
    headroom: f.num('headroom', 0.2, { min: 0, max: 0.95 }),
    failures: f.int('failures', 1, 0, 1000),
    migrationsPerHost: f.int('migrationsPerHost', 2, 1, 64),
  };
  if (f.has('overcommit')) {
    const o = Fields.of(f.get('overcommit'), f.field('overcommit'), ['cpu', 'memory']);
    planner.overcommit = { cpu: o.num('cpu', 4, { min: 0.1 }), memory: o.num('memory', 1, { min: 0.1 }) };
  }
  const b = Fields.of(f.get('balance') ?? {}, f.field('balance'), ['automation', 'threshold', 'maxMoves', 'cooldown', 'interval', 'horizon', 'costWeight', 'bandwidthMiBs', 'hysteresis']);
  const automation = b.oneOf('automation', AUTOMATION, 'automatic');
  planner.balance = {
    automation,
    threshold: b.num('threshold', 0.1, { min: 0 }),
    maxMoves: b.int('maxMoves', 8, 0, 100_000),
    cooldownMs: b.durationMs('cooldown', 3_600_000),
  };
  const cost = {
    ...(b.has('horizon') ? { horizonS: b.durationMs('horizon') / 1000 } : {}),
    ...(b.has('costWeight') ? { costWeight: b.num('costWeight', 1, { min: 0 }) } : {}),
    ...(b.has('bandwidthMiBs') ? { bandwidthMiBs: b.num('bandwidthMiBs', 1000, { min: 1 }) } : {}),
    ...(b.has('hysteresis') ? { hysteresis: b.num('hysteresis', 0.5, { min: 0, max: 1 }) } : {}),
  };
  if (Object.keys(cost).length > 0) planner.balanceCost = cost;
  const p = Fields.of(f.get('power') ?? {}, f.field('power'), ['enabled', 'interval', 'lookahead', 'minHostsOn', 'forecast']);
  const power = {
    ...(p.has('lookahead') ? { lookaheadMs: p.durationMs('lookahead') } : {}),
    ...(p.has('minHostsOn') ? { minHostsOn: p.int('minHostsOn', 1, 0) } : {}),
  };
  if (Object.keys(power).length > 0) planner.power = power;
  return {
    planner,
    balance: { automation, intervalMs: b.durationMs('interval', 0) },
    power: { enabled: p.bool('enabled', false), intervalMs: p.durationMs('interval', 0), forecast: p.oneOf('forecast', ['none', 'oracle'] as const, 'none') },
  };
}

export function timingSpec(v: unknown, path: string): TimingSpec {
  const f = Fields.of(v ?? {}, path, ['vmStartSeconds', 'migrationSetupSeconds', 'failureDetectSeconds']);
  return {
    vmStartSeconds: f.num('vmStartSeconds', 30, { min: 0 }),
    migrationSetupSeconds: f.num('migrationSetupSeconds', 2, { min: 0 }),
    failureDetectSeconds: f.num('failureDetectSeconds', 10, { min: 0 }),
  };
}
