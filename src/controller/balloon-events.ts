// The automatic balloon's decisions, from agent reports to the event stream
// (docs/memory.md, "Events and logs"). An agent resends the decisions the
// controller has not acknowledged with each report; each one is published
// once as a `vm.balloon` event (dedupe by host, stream and seq), and the
// answer acknowledges the highest seq taken. What was taken is kept in memory
// only: after a controller restart, the first report of each host republishes
// just the decisions that report carries (the ones not acknowledged before
// the restart), never the host's whole history.
import type { BalloonAck, BalloonDecision, BalloonDecisionsReport } from '../api/balloon.js';
import type { EventDraft } from './events.js';

export interface BalloonNames {
  hostId: string;
  host: string;
  /** The VM's name; undefined when the controller no longer knows it. */
  vm(id: string): string | undefined;
}

export class BalloonEvents {
  /** Per host: the agent stream and highest seq taken. */
  private readonly taken = new Map<string, { stream: string; seq: number }>();

  /** The decisions of this report not published yet, as events (in seq order), and the ack to answer with. */
  take(names: BalloonNames, report: BalloonDecisionsReport): { events: EventDraft[]; ack: BalloonAck } {
    const before = this.taken.get(names.hostId);
    // A new stream (the agent restarted) or a restarted controller: all the agent still holds is new.
    const last = before?.stream === report.stream ? Math.max(before.seq, report.from - 1) : report.from - 1;
    const fresh = report.decisions.filter((d) => d.seq > last).sort((a, b) => a.seq - b.seq);
    const events: EventDraft[] = [];
    const first = fresh[0];
    if (first && first.seq > last + 1) events.push(lostEvent(names, report.stream, last + 1, first.seq - 1));
    for (const d of fresh) events.push(balloonEvent(names, report.stream, d));
    const seq = Math.max(last, ...report.decisions.map((d) => d.seq));
    this.taken.set(names.hostId, { stream: report.stream, seq });
    return { events, ack: { stream: report.stream, seq } };
  }
}

const KIND_WORDS: Record<BalloonDecision['kind'], string> = {
  'inflate-pressure': 'inflated (host memory pressure)',
  'deflate-needy': 'deflated (the guest needs memory)',
  'deflate-relax': 'deflated (memory given back, no host pressure)',
};

export function balloonEvent(names: BalloonNames, stream: string, d: BalloonDecision): EventDraft {
  const vm = names.vm(d.vmId);
  return {
    kind: 'vm.balloon',
    resource: vm ?? d.vmId,
    message: `VM ${vm ?? d.vmId} on host ${names.host}: balloon ${KIND_WORDS[d.kind]}, ${d.fromMiB} -> ${d.targetMiB} MiB: ${d.reason}`,
    data: { id: d.vmId, hostId: names.hostId, host: names.host, kind: d.kind, fromMiB: d.fromMiB, targetMiB: d.targetMiB, reason: d.reason, decidedAt: d.at, seq: d.seq, stream },
  };
}

function lostEvent(names: BalloonNames, stream: string, fromSeq: number, toSeq: number): EventDraft {
  const n = toSeq - fromSeq + 1;
  const which = n === 1 ? `decision ${fromSeq} was` : `decisions ${fromSeq}-${toSeq} were`;
  return {
    kind: 'host.balloon-lost',
    resource: names.host,
    message: `host ${names.host}: balloon ${which} dropped by its agent before a report reached the controller (its queue is bounded); the agent's log has them`,
    data: { id: names.hostId, stream, fromSeq, toSeq },
  };
}
