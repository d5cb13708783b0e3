import pino from 'pino';
import { describe, expect, it } from 'vitest';
import type { HostReport } from '../api/agent-protocol.js';
import type { BalloonAck } from '../api/balloon.js';
import { BalloonDecisionQueue } from './balloon-decisions.js';
import type { BalloonChange } from './balloon-loop.js';
import { Reporter } from './report.js';

const AT = Date.parse('2024-05-01T10:00:00.000Z');
const change = (vmId: string, fromMiB: number, targetMiB: number, kind: BalloonChange['kind'] = 'inflate-pressure'): BalloonChange => ({
  vmId, fromMiB, targetMiB, kind, atMs: AT, reason: `host available 600 MiB < 15% of 8192 MiB; vm ${vmId}: balloon to ${targetMiB} MiB`,
});
const seqs = (q: BalloonDecisionQueue): number[] => q.pending()?.decisions.map((d) => d.seq) ?? [];

describe('BalloonDecisionQueue', () => {
  it('numbers each change and carries it, with its reason and numbers, until acknowledged', () => {
    const q = new BalloonDecisionQueue('s1');
    expect(q.pending()).toBeUndefined();
    q.add(change('a', 512, 384));
    q.add(change('b', 256, 300.4, 'deflate-needy'));
    expect(q.pending()).toEqual({
      stream: 's1',
      from: 1,
      decisions: [
        { seq: 1, vmId: 'a', kind: 'inflate-pressure', fromMiB: 512, targetMiB: 384, reason: change('a', 512, 384).reason, at: '2024-05-01T10:00:00.000Z' },
        { seq: 2, vmId: 'b', kind: 'deflate-needy', fromMiB: 256, targetMiB: 300, reason: change('b', 256, 300.4).reason, at: '2024-05-01T10:00:00.000Z' },
      ],
    });
    q.ack({ stream: 's1', seq: 1 });
    expect(q.pending()).toMatchObject({ from: 2, decisions: [{ seq: 2 }] });
    q.ack({ stream: 's1', seq: 2 });
    expect(q.pending()).toBeUndefined();
    q.add(change('a', 384, 256));
    expect(q.pending()).toMatchObject({ from: 3, decisions: [{ seq: 3 }] });
  });

  it('ignores acks of another stream (an older agent process) and stale acks', () => {
    const q = new BalloonDecisionQueue('new');
    q.add(change('a', 512, 384));
    q.add(change('a', 384, 256));
    q.ack({ stream: 'old', seq: 2 });
    q.ack(undefined);
    expect(seqs(q)).toEqual([1, 2]);
    q.ack({ stream: 'new', seq: 1 });
    q.ack({ stream: 'new', seq: 0 });
    expect(seqs(q)).toEqual([2]);
    q.ack({ stream: 'new', seq: 99 }); // never past what it numbered
    q.add(change('a', 256, 384, 'deflate-relax'));
    expect(q.pending()).toMatchObject({ from: 3, decisions: [{ seq: 3 }] });
  });

  it('is bounded: drops the oldest, and `from` shows the controller what it missed', () => {
    const q = new BalloonDecisionQueue('s', 3);
    for (let i = 0; i < 5; i++) q.add(change('a', 512 - i * 16, 496 - i * 16));
    expect(q.size).toBe(3);
    expect(q.pending()).toMatchObject({ from: 1, decisions: [{ seq: 3 }, { seq: 4 }, { seq: 5 }] });
    expect(() => new BalloonDecisionQueue('s', 0)).toThrow(/capacity/);
    expect(() => new BalloonDecisionQueue('s', 65)).toThrow(/capacity/);
  });

  it('gives each agent process its own stream', () => {
    expect(new BalloonDecisionQueue().stream).not.toBe(new BalloonDecisionQueue().stream);
  });
});

describe('balloon decisions on the reports', () => {
  const base: HostReport = { inventory: { hostname: 'h', cpus: 1, memoryMiB: 1, kvm: false, qemuVersion: '7.2.0', freeDiskBytes: 1, agentVersion: '0' }, vms: [], images: [] };

  it('a missed report loses nothing: the next one carries the same decisions, then the ack clears them', async () => {
    const q = new BalloonDecisionQueue('s');
    const received: HostReport[] = [];
    let fail = true;
    const send = async (r: HostReport): Promise<void> => {
      if (fail) throw new Error('controller unreachable');
      received.push(r);
      const last = r.balloon?.decisions.at(-1);
      const ack: BalloonAck | undefined = last ? { stream: r.balloon!.stream, seq: last.seq } : undefined;
      q.ack(ack);
    };
    const build = async (): Promise<HostReport> => {
      const balloon = q.pending();
      return { ...base, ...(balloon ? { balloon } : {}) };
    };
    const reporter = new Reporter(build, send, pino({ level: 'silent' }), { intervalMs: 60_000 });
    q.add(change('a', 512, 384));
    await reporter.kick(); // missed
    q.add(change('a', 384, 512, 'deflate-needy'));
    fail = false;
    await reporter.kick();
    expect(received[0]?.balloon?.decisions.map((d) => [d.seq, d.kind])).toEqual([[1, 'inflate-pressure'], [2, 'deflate-needy']]);
    await reporter.kick();
    expect(received[1]?.balloon).toBeUndefined();
  });
});
