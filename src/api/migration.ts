// Live migration: the request, the user-facing record, and the part of the
// agent protocol that carries it (what each agent is told, what it reports).
import { Type, type Static } from 'typebox';
import { IsoTime, Name } from './resources.js';

export const MIGRATION_STRATEGIES = ['auto', 'precopy', 'postcopy'] as const;
export type MigrationStrategy = (typeof MIGRATION_STRATEGIES)[number];
export const MigrationStrategySchema = Type.Unsafe<MigrationStrategy>(Type.Union(MIGRATION_STRATEGIES.map((s) => Type.Literal(s))));

export const MigrationLimits = {
  minDowntimeMs: 1,
  maxDowntimeMs: 60_000,
  defaultDowntimeMs: 300,
  minBandwidthMiBs: 1,
  maxBandwidthMiBs: 100_000,
  minTimeoutS: 10,
  maxTimeoutS: 86_400,
  defaultTimeoutS: 600,
} as const;

export const MigrateVmRequest = Type.Object({
  /** Target host name or id; placement chooses when absent. */
  to: Type.Optional(Type.String({ minLength: 1 })),
  strategy: Type.Optional(MigrationStrategySchema),
  maxDowntimeMs: Type.Optional(Type.Integer({ minimum: MigrationLimits.minDowntimeMs, maximum: MigrationLimits.maxDowntimeMs })),
  bandwidthMiBs: Type.Optional(Type.Integer({ minimum: MigrationLimits.minBandwidthMiBs, maximum: MigrationLimits.maxBandwidthMiBs, description: 'cap in MiB/s; unlimited when absent' })),
  /** Postcopy may be used (strategy auto) or is used (strategy postcopy). See docs/migration.md for what an interrupted postcopy costs. */
  allowPostcopy: Type.Optional(Type.Boolean()),
  /** Give up (and keep the VM on its source) after this many seconds. */
  timeoutS: Type.Optional(Type.Integer({ minimum: MigrationLimits.minTimeoutS, maximum: MigrationLimits.maxTimeoutS })),
});
export type MigrateVmRequest = Static<typeof MigrateVmRequest>;

export const MigrationProgress = Type.Object({
  transferredBytes: Type.Integer(),
  remainingBytes: Type.Integer(),
  totalBytes: Type.Integer(),
  /** Bytes/s the guest dirties (QEMU's estimate of the last pass). */
  dirtyRateBytes: Type.Number(),
  /** Throughput of the last period, bytes/s. */
  throughputBytes: Type.Number(),
  expectedDowntimeMs: Type.Optional(Type.Number()),
  passes: Type.Integer(),
  /** CPU throttling auto-converge applies now, percent. */
  throttlePct: Type.Integer(),
  /** Disk bytes the mirror still has to copy (local storage only). */
  diskRemainingBytes: Type.Optional(Type.Integer()),
  diskTotalBytes: Type.Optional(Type.Integer()),
});
export type MigrationProgress = Static<typeof MigrationProgress>;

export const MigrationResult = Type.Object({
  downtimeMs: Type.Number(),
  totalMs: Type.Number(),
  setupMs: Type.Optional(Type.Number()),
  transferredBytes: Type.Integer(),
  ramBytes: Type.Integer(),
  postcopy: Type.Boolean(),
});
export type MigrationResult = Static<typeof MigrationResult>;

export const MIGRATION_STATES = ['queued', 'preparing', 'transferring', 'switching-over', 'cleaning-up', 'completed', 'failed', 'cancelled'] as const;
export type MigrationState = (typeof MIGRATION_STATES)[number];

export const Migration = Type.Object({
  id: Type.String(),
  vmId: Type.String(),
  vm: Name,
  sourceHostId: Type.String(),
  targetHostId: Type.String(),
  source: Type.String({ description: 'source host name' }),
  target: Type.String({ description: 'target host name' }),
  storage: Type.Union([Type.Literal('local'), Type.Literal('shared')]),
  strategy: MigrationStrategySchema,
  maxDowntimeMs: Type.Integer(),
  bandwidthMiBs: Type.Optional(Type.Integer()),
  allowPostcopy: Type.Boolean(),
  timeoutS: Type.Integer(),
  state: Type.Unsafe<MigrationState>(Type.Union(MIGRATION_STATES.map((s) => Type.Literal(s)))),
  /** Why it is queued, or what it waits for. */
  message: Type.Optional(Type.String()),
  progress: Type.Optional(MigrationProgress),
  /** The escalation path the migration took, in order (e.g. precopy, downtime-raised, auto-converge, postcopy). */
  path: Type.Array(Type.String()),
  result: Type.Optional(MigrationResult),
  error: Type.Optional(Type.String()),
  jobId: Type.String(),
  createdAt: IsoTime,
  updatedAt: IsoTime,
});
export type Migration = Static<typeof Migration>;

/** What an agent is told about a VM that migrates (part of its VmAssignment). */
export const MigrationAssignment = Type.Object({
  id: Type.String(),
  role: Type.Union([Type.Literal('source'), Type.Literal('target')]),
  storage: Type.Union([Type.Literal('local'), Type.Literal('shared')]),
  // Source: where to send, and how.
  targetUri: Type.Optional(Type.String({ description: 'tcp:ADDR:PORT of the target QEMU' })),
  nbd: Type.Optional(Type.Object({ host: Type.String(), port: Type.Integer() })),
  strategy: Type.Optional(MigrationStrategySchema),
  maxDowntimeMs: Type.Optional(Type.Integer()),
  bandwidthBytes: Type.Optional(Type.Integer()),
  allowPostcopy: Type.Optional(Type.Boolean()),
  /** Source: stop migrating and keep (or get back to) running here. */
  cancel: Type.Optional(Type.Boolean()),
  // Target: where to listen, and when to take over.
  listenHost: Type.Optional(Type.String()),
  /** Target: the source handed over; resume the guest here. */
  switchover: Type.Optional(Type.Boolean()),
  /** Target, with switchover: when the guest was ready on the source (it keeps being ready here). */
  guestReadyAt: Type.Optional(Type.String()),
});
export type MigrationAssignment = Static<typeof MigrationAssignment>;

export const MIGRATION_REPORT_STATES = ['preparing', 'listening', 'mirroring', 'transferring', 'postcopy', 'completed', 'failed', 'cancelled', 'switched-over'] as const;
export type MigrationReportState = (typeof MIGRATION_REPORT_STATES)[number];

/** What an agent reports of a migration it takes part in (part of its VmReport). */
export const MigrationReport = Type.Object({
  id: Type.String(),
  role: Type.Union([Type.Literal('source'), Type.Literal('target')]),
  state: Type.Unsafe<MigrationReportState>(Type.Union(MIGRATION_REPORT_STATES.map((s) => Type.Literal(s)))),
  /** Target: where its QEMU listens for the memory stream and (local storage) the NBD export. */
  uri: Type.Optional(Type.String()),
  nbd: Type.Optional(Type.Object({ host: Type.String(), port: Type.Integer() })),
  progress: Type.Optional(MigrationProgress),
  path: Type.Optional(Type.Array(Type.String())),
  result: Type.Optional(MigrationResult),
  error: Type.Optional(Type.String()),
});
export type MigrationReport = Static<typeof MigrationReport>;
