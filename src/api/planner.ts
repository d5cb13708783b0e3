// The planner's data on the wire: the cluster snapshot (GET /v1/snapshot,
// the file `drover snapshot` writes; its TypeScript form and the meaning of
// every field are in src/core/planner/snapshot.ts and docs/planner.md) and
// an explained plan action. Every field is listed, so the response
// serializer keeps them all; the compile-time checks below keep this schema
// and the core types in step.
import { Type, type Static, type TSchema } from 'typebox';
import type { ClusterSnapshot, ExplainedAction, PlanAction } from '../core/planner/index.js';

const Labels = Type.Record(Type.String(), Type.String());
const Opt = <T extends TSchema>(t: T) => Type.Optional(t);
const Num = Type.Number();

export const SnapshotHostSchema = Type.Object({
  id: Type.String(),
  name: Opt(Type.String()),
  cpus: Type.Integer({ minimum: 1 }),
  memoryMiB: Type.Integer({ minimum: 1 }),
  state: Type.Union([Type.Literal('ready'), Type.Literal('maintenance'), Type.Literal('standby')]),
  labels: Opt(Labels),
  diskGiB: Opt(Num),
  reservedCpus: Opt(Num),
  reservedMemoryMiB: Opt(Num),
  maxMigrations: Opt(Type.Integer({ minimum: 1 })),
  bootSeconds: Opt(Num),
});

export const SnapshotVmSchema = Type.Object({
  id: Type.String(),
  name: Opt(Type.String()),
  cpus: Type.Integer({ minimum: 1 }),
  memoryMiB: Type.Integer({ minimum: 1 }),
  maxCpus: Opt(Type.Integer({ minimum: 1 })),
  host: Type.Union([Type.String(), Type.Null()]),
  cpuUsage: Opt(Num),
  memoryUsageMiB: Opt(Num),
  localDiskGiB: Opt(Num),
  groups: Opt(Type.Array(Type.String())),
  pool: Opt(Type.String({ description: 'id of the resource pool it belongs to' })),
  ha: Opt(Type.Boolean()),
  priority: Opt(Num),
  dirtyMiBs: Opt(Num),
  hostRules: Opt(Type.Array(Type.Object({ labels: Labels, strength: Type.Union([Type.Literal('must'), Type.Literal('should')]) }))),
  lastMovedAtMs: Opt(Num),
  lastResizedAtMs: Opt(Num),
  migratingTo: Opt(Type.String({ description: 'a live migration of the VM to this host is under way' })),
});

export const SnapshotGroupSchema = Type.Object({
  id: Type.String(),
  kind: Type.Union([Type.Literal('affinity'), Type.Literal('anti-affinity')]),
  strength: Type.Union([Type.Literal('must'), Type.Literal('should')]),
  vms: Type.Array(Type.String()),
});

export const SnapshotPoolSchema = Type.Object({
  id: Type.String(),
  parent: Opt(Type.String()),
  cpu: Opt(Type.Object({ reservationCores: Opt(Num), limitCores: Opt(Num) })),
  memory: Opt(Type.Object({ reservationMiB: Opt(Num), limitMiB: Opt(Num) })),
});

const Level = Type.Union([Type.Literal('off'), Type.Literal('recommend'), Type.Literal('automatic')]);

export const PlannerPolicySchema = Type.Object({
  overcommit: Opt(Type.Object({ cpu: Opt(Num), memory: Opt(Num) })),
  headroom: Opt(Num),
  failures: Opt(Type.Integer({ minimum: 0 })),
  placement: Opt(Type.Union([Type.Literal('spread'), Type.Literal('pack')])),
  balance: Opt(Type.Object({ threshold: Opt(Num), maxMoves: Opt(Type.Integer({ minimum: 0 })), cooldownMs: Opt(Num), automation: Opt(Level) })),
  migrationsPerHost: Opt(Type.Integer({ minimum: 1 })),
  balanceCost: Opt(Type.Object({ horizonS: Opt(Num), costWeight: Opt(Num), bandwidthMiBs: Opt(Num), hysteresis: Opt(Num) })),
  power: Opt(Type.Object({ lookaheadMs: Opt(Num), minHostsOn: Opt(Type.Integer({ minimum: 0 })) })),
  grow: Opt(Type.Object({ cpuAt: Opt(Num), targetUtil: Opt(Num), cooldownMs: Opt(Num) })),
});

export const ClusterSnapshotSchema = Type.Object({
  nowMs: Opt(Num),
  hosts: Type.Array(SnapshotHostSchema),
  vms: Type.Array(SnapshotVmSchema),
  groups: Opt(Type.Array(SnapshotGroupSchema)),
  pools: Opt(Type.Array(SnapshotPoolSchema)),
  policy: Opt(PlannerPolicySchema),
  forecast: Opt(Type.Array(Type.Object({ atMs: Num, cpu: Num, memoryMiB: Num }))),
}, { description: 'A cluster snapshot for the planner (docs/planner.md)' });

export const PlanActionSchema = Type.Union([
  Type.Object({ kind: Type.Literal('place'), vm: Type.String(), host: Type.String() }),
  Type.Object({ kind: Type.Literal('migrate'), vm: Type.String(), from: Type.String(), to: Type.String() }),
  Type.Object({ kind: Type.Literal('power-on'), host: Type.String(), atMs: Opt(Num) }),
  Type.Object({ kind: Type.Literal('standby'), host: Type.String() }),
  Type.Object({ kind: Type.Literal('restart'), vm: Type.String(), from: Type.String(), to: Type.String() }),
  Type.Object({ kind: Type.Literal('resize'), vm: Type.String(), host: Type.String(), cpus: Type.Integer({ minimum: 1 }) }),
]);

export const ExplainedActionSchema = Type.Object({
  action: PlanActionSchema,
  reason: Type.String({ description: 'one sentence a person can read' }),
  scoreBefore: Opt(Num),
  scoreAfter: Opt(Num),
  numbers: Opt(Type.Record(Type.String(), Type.Union([Type.Number(), Type.String()]), { description: 'the numbers the decision used' })),
  wave: Opt(Type.Integer({ minimum: 0 })),
});

// Compile-time: the wire types and the core types are the same (a field added on one side only fails `tsc`).
type Same<A, B> = (<T>() => T extends A ? 1 : 2) extends (<T>() => T extends B ? 1 : 2) ? true : false;
const _snapshotSame: Same<Static<typeof ClusterSnapshotSchema>, ClusterSnapshot> = true;
const _actionSame: Same<Static<typeof PlanActionSchema>, PlanAction> = true;
const _explainedSame: Same<Static<typeof ExplainedActionSchema>, ExplainedAction> = true;
