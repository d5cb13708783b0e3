// The planner's policy with every default filled in (docs/planner.md lists
// them). One place for the defaults, so the planner, the checker and the
// docs agree.
import type { ClusterSnapshot } from './snapshot.js';

export type Automation = 'off' | 'recommend' | 'automatic';

export interface ResolvedPolicy {
  overcommitCpu: number;
  overcommitMemory: number;
  headroom: number;
  failures: number;
  placement: 'spread' | 'pack';
  threshold: number;
  maxMoves: number;
  cooldownMs: number;
  automation: Automation;
  migrationsPerHost: number;
  horizonS: number;
  costWeight: number;
  bandwidthMiBs: number;
  hysteresis: number;
  lookaheadMs: number;
  minHostsOn: number;
  growAt: number;
  growTargetUtil: number;
  growCooldownMs: number;
}

export const DEFAULTS: ResolvedPolicy = {
  overcommitCpu: 4,
  overcommitMemory: 1,
  headroom: 0.2,
  failures: 1,
  placement: 'spread',
  threshold: 0.1,
  maxMoves: 8,
  cooldownMs: 3_600_000,
  automation: 'recommend',
  migrationsPerHost: 2,
  horizonS: 1800,
  costWeight: 1,
  bandwidthMiBs: 1000,
  hysteresis: 0.5,
  lookaheadMs: 3_600_000,
  minHostsOn: 1,
  growAt: 0.85,
  growTargetUtil: 0.7,
  growCooldownMs: 600_000,
};

export function resolvePolicy(snapshot: ClusterSnapshot): ResolvedPolicy {
  const p = snapshot.policy ?? {};
  const d = DEFAULTS;
  return {
    overcommitCpu: p.overcommit?.cpu ?? d.overcommitCpu,
    overcommitMemory: p.overcommit?.memory ?? d.overcommitMemory,
    headroom: p.headroom ?? d.headroom,
    failures: p.failures ?? d.failures,
    placement: p.placement ?? d.placement,
    threshold: p.balance?.threshold ?? d.threshold,
    maxMoves: p.balance?.maxMoves ?? d.maxMoves,
    cooldownMs: p.balance?.cooldownMs ?? d.cooldownMs,
    automation: p.balance?.automation ?? d.automation,
    migrationsPerHost: p.migrationsPerHost ?? d.migrationsPerHost,
    horizonS: p.balanceCost?.horizonS ?? d.horizonS,
    costWeight: p.balanceCost?.costWeight ?? d.costWeight,
    bandwidthMiBs: p.balanceCost?.bandwidthMiBs ?? d.bandwidthMiBs,
    hysteresis: p.balanceCost?.hysteresis ?? d.hysteresis,
    lookaheadMs: p.power?.lookaheadMs ?? d.lookaheadMs,
    minHostsOn: p.power?.minHostsOn ?? d.minHostsOn,
    growAt: p.grow?.cpuAt ?? d.growAt,
    growTargetUtil: p.grow?.targetUtil ?? d.growTargetUtil,
    growCooldownMs: p.grow?.cooldownMs ?? d.growCooldownMs,
  };
}

export const AUTOMATION_LEVEL: Record<Automation, number> = { off: 0, recommend: 1, automatic: 2 };
