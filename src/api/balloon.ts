// The automatic balloon's decisions on the wire (docs/memory.md, "Events and
// logs"). An agent numbers each balloon change it made (seq, within one agent
// process: its stream), keeps the ones the controller has not acknowledged
// in a small bounded queue and sends them with every report; the controller
// publishes each new one once as a `vm.balloon` event and answers with the
// highest seq it took, so the agent can forget up to there.
import { Type, type Static } from 'typebox';
import type { BalloonChangeKind } from '../core/balloon-policy.js';

const KINDS: readonly BalloonChangeKind[] = ['inflate-pressure', 'deflate-needy', 'deflate-relax'];
export const BalloonDecisionKind = Type.Unsafe<BalloonChangeKind>(Type.Union(KINDS.map((k) => Type.Literal(k))));

export const BalloonDecision = Type.Object({
  seq: Type.Integer({ minimum: 1, description: 'numbers the decisions of one agent process (stream), from 1' }),
  vmId: Type.String(),
  kind: BalloonDecisionKind,
  fromMiB: Type.Integer({ description: 'balloon target before (the guest had this much)' }),
  targetMiB: Type.Integer({ description: 'balloon target set' }),
  reason: Type.String({ description: 'why, with the numbers the policy saw: host pressure and available memory, the guest need, headroom, floor' }),
  at: Type.String({ description: 'ISO-8601 time the agent applied it' }),
});
export type BalloonDecision = Static<typeof BalloonDecision>;

export const BALLOON_QUEUE_MAX = 64;

export const BalloonDecisionsReport = Type.Object({
  stream: Type.String({ minLength: 1, description: 'one agent process: seq starts again at 1 in a new stream' }),
  /** The lowest seq the controller has not acknowledged: decisions from here below decisions[0].seq were dropped (queue full). */
  from: Type.Integer({ minimum: 1 }),
  decisions: Type.Array(BalloonDecision, { maxItems: BALLOON_QUEUE_MAX }),
});
export type BalloonDecisionsReport = Static<typeof BalloonDecisionsReport>;

/** The controller took every decision of `stream` up to `seq` (published now or before). */
export const BalloonAck = Type.Object({ stream: Type.String(), seq: Type.Integer({ minimum: 0 }) });
export type BalloonAck = Static<typeof BalloonAck>;
