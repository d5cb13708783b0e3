// Cluster automation: how far the balancer and the power planner may act on
// their own (settings, GET/PUT /v1/automation), and what a pass decided
// (GET /v1/recommendations, POST /v1/automation/run). See docs/automation.md.
import { Type, type Static } from 'typebox';
import { ExplainedActionSchema } from './planner.js';
import { IsoTime } from './resources.js';

export const AUTOMATION_LEVELS = ['off', 'recommend', 'automatic'] as const;
export type AutomationLevel = (typeof AUTOMATION_LEVELS)[number];
export const AutomationLevelSchema = Type.Unsafe<AutomationLevel>(Type.Union(AUTOMATION_LEVELS.map((l) => Type.Literal(l)), {
  description: 'off: nothing is planned; recommend: the plan is recorded as recommendations; automatic: the controller carries it out',
}));

export const AutomationLimits = {
  minIntervalS: 10,
  maxIntervalS: 86_400,
  minMaxMoves: 0,
  maxMaxMoves: 100,
  minHaFailures: 0,
  maxHaFailures: 10,
  minGrowAt: 0.5,
  maxGrowAt: 1,
} as const;

const AutomationSettingsFields = Type.Object({
  balance: AutomationLevelSchema,
  power: AutomationLevelSchema,
  grow: Type.Unsafe<AutomationLevel>(Type.Union(AUTOMATION_LEVELS.map((l) => Type.Literal(l)), {
    description: 'reallocation by need: a VM busy on nearly all its vCPUs is grown live where it runs, else moved to a host with room and grown there',
  })),
  growAt: Type.Number({ minimum: AutomationLimits.minGrowAt, maximum: AutomationLimits.maxGrowAt, description: 'the share of its vCPUs a VM must keep busy to be grown (0.85: 85%)' }),
  intervalS: Type.Integer({ minimum: AutomationLimits.minIntervalS, maximum: AutomationLimits.maxIntervalS, description: 'seconds between two passes' }),
  maxMoves: Type.Integer({ minimum: AutomationLimits.minMaxMoves, maximum: AutomationLimits.maxMaxMoves, description: 'migrations the balancer plans per pass' }),
  haFailures: Type.Integer({
    minimum: AutomationLimits.minHaFailures, maximum: AutomationLimits.maxHaFailures,
    description: 'F: host failures HA admission keeps room for (new HA VMs are refused otherwise; the balancer and consolidation keep it too); 0: off',
  }),
});

/** Balancer and grow recommend, power is off, a pass every 5 minutes, at most 8 moves per pass (the planner's default), room for 1 host failure. */
export const AUTOMATION_DEFAULTS = { balance: 'recommend', power: 'off', grow: 'recommend', growAt: 0.85, intervalS: 300, maxMoves: 8, haFailures: 1 } as const satisfies Static<typeof AutomationSettingsFields>;

export const AutomationSettings = Type.Object({
  ...AutomationSettingsFields.properties,
  updatedAt: Type.Optional(IsoTime),
});
export type AutomationSettings = Static<typeof AutomationSettings>;

/** PUT /v1/automation: the fields to change; the others keep their value. Unknown fields are refused. */
export const AutomationSettingsUpdate = Type.Partial(AutomationSettingsFields);
export type AutomationSettingsUpdate = Static<typeof AutomationSettingsUpdate>;
export const AUTOMATION_FIELDS = Object.keys(AutomationSettingsFields.properties) as Array<keyof AutomationSettingsUpdate>;

export const RECOMMENDATION_STATES = ['recommended', 'started', 'done', 'deferred', 'skipped', 'failed'] as const;
export type RecommendationState = (typeof RECOMMENDATION_STATES)[number];

export const Recommendation = Type.Object({
  /** The goal that produced it: balance (the balancer), power (consolidation and power-on) or grow (reallocation by need). */
  goal: Type.Union([Type.Literal('balance'), Type.Literal('power'), Type.Literal('grow')]),
  /** The level it was decided under: recommend (recorded only) or automatic (carried out). */
  level: Type.Union([Type.Literal('recommend'), Type.Literal('automatic')]),
  /** One line: "migrate web-1 from h1 to h2", "standby h3". */
  summary: Type.String(),
  ...ExplainedActionSchema.properties,
  /** What became of it. recommended: recorded for a person; started/done: carried out; deferred: a later wave, planned again next pass; skipped: the cluster changed; failed: refused or failed. */
  state: Type.Unsafe<RecommendationState>(Type.Union(RECOMMENDATION_STATES.map((s) => Type.Literal(s)))),
  /** Why it was deferred, skipped or failed. */
  detail: Type.Optional(Type.String()),
  migrationId: Type.Optional(Type.String()),
  jobId: Type.Optional(Type.String()),
});
export type Recommendation = Static<typeof Recommendation>;

export const AutomationPass = Type.Object({
  /** When the pass ran; absent before the first pass. */
  at: Type.Optional(IsoTime),
  trigger: Type.Union([Type.Literal('timer'), Type.Literal('request'), Type.Literal('none')]),
  balance: AutomationLevelSchema,
  power: AutomationLevelSchema,
  grow: Type.Optional(AutomationLevelSchema),
  /** Why the pass planned nothing (both levels off, earlier automatic migrations still running, ...). */
  skipped: Type.Optional(Type.String()),
  /** Why the pass failed, when it did. */
  error: Type.Optional(Type.String()),
  recommendations: Type.Array(Recommendation),
  /** The planner's summary figures per goal (imbalance before/after, hosts on, ...). */
  metrics: Type.Object({
    balance: Type.Optional(Type.Record(Type.String(), Type.Number())),
    power: Type.Optional(Type.Record(Type.String(), Type.Number())),
    grow: Type.Optional(Type.Record(Type.String(), Type.Number())),
  }),
});
export type AutomationPass = Static<typeof AutomationPass>;
