// The balloon decisions the controller has not acknowledged yet (docs/memory.md,
// "Events and logs"). Each change the balloon loop made gets the next seq of
// this agent process (its stream); every report carries the queue, and the
// controller's answer acknowledges up to a seq, which is then forgotten. So a
// missed report loses nothing: the next one carries the same decisions. The
// queue is bounded: when the controller stays unreachable, the oldest go,
// and the report's `from` tells the controller how many it missed.
import { randomUUID } from 'node:crypto';
import { BALLOON_QUEUE_MAX, type BalloonAck, type BalloonDecision, type BalloonDecisionsReport } from '../api/balloon.js';
import type { BalloonChange } from './balloon-loop.js';

export class BalloonDecisionQueue {
  private readonly queue: BalloonDecision[] = [];
  private lastSeq = 0;
  /** The highest seq the controller acknowledged. */
  private acked = 0;

  constructor(
    readonly stream: string = randomUUID(),
    private readonly capacity = BALLOON_QUEUE_MAX,
  ) {
    if (!(capacity >= 1 && capacity <= BALLOON_QUEUE_MAX)) throw new Error(`balloon decision queue: capacity must be 1 to ${BALLOON_QUEUE_MAX}`);
  }

  add(change: BalloonChange): BalloonDecision {
    const decision: BalloonDecision = {
      seq: ++this.lastSeq,
      vmId: change.vmId,
      kind: change.kind,
      fromMiB: Math.round(change.fromMiB),
      targetMiB: Math.round(change.targetMiB),
      reason: change.reason,
      at: new Date(change.atMs).toISOString(),
    };
    this.queue.push(decision);
    if (this.queue.length > this.capacity) this.queue.splice(0, this.queue.length - this.capacity);
    return decision;
  }

  /** What the next report carries; undefined when there is nothing to tell. */
  pending(): BalloonDecisionsReport | undefined {
    if (this.queue.length === 0) return undefined;
    return { stream: this.stream, from: this.acked + 1, decisions: [...this.queue] };
  }

  /** The controller's answer: forgets what it took. An ack of another stream (an older agent process) is ignored. */
  ack(ack: BalloonAck | undefined): void {
    if (!ack || ack.stream !== this.stream || ack.seq <= this.acked) return;
    this.acked = Math.min(ack.seq, this.lastSeq);
    const keep = this.queue.findIndex((d) => d.seq > this.acked);
    this.queue.splice(0, keep === -1 ? this.queue.length : keep);
  }

  get size(): number {
    return this.queue.length;
  }
}
