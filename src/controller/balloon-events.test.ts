// The automatic balloon's decisions on the controller's event stream: each
// published once, in order, with the VM, the host, the old and new target
// and the policy's reason; acknowledged to the agent; republished after a
// controller restart only when the agent still holds them unacknowledged.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BalloonDecision, BalloonDecisionsReport } from '../api/balloon.js';
import type { DroverEvent } from '../api/resources.js';
import { BalloonEvents, type BalloonNames } from './balloon-events.js';
import { startTestBed, type TestBed } from './test-support/harness.js';

const REASON = 'host available 600 MiB < 15% of 23552 MiB; vm v1 uses 60 of 512 MiB (keeps 64 MiB headroom + 32 MiB, floor 128 MiB): balloon to 384 MiB';
const decision = (seq: number, over: Partial<BalloonDecision> = {}): BalloonDecision => ({
  seq, vmId: 'v1', kind: 'inflate-pressure', fromMiB: 512, targetMiB: 384, reason: REASON, at: '2024-05-01T10:00:00.000Z', ...over,
});
const report = (stream: string, from: number, seqs: number[]): BalloonDecisionsReport => ({ stream, from, decisions: seqs.map((s) => decision(s)) });
const names: BalloonNames = { hostId: 'h-1', host: 'h1', vm: (id) => (id === 'v1' ? 'web' : undefined) };

describe('BalloonEvents (dedupe by host, stream and seq)', () => {
  it('publishes each decision once, in seq order, and acknowledges the highest seq', () => {
    const b = new BalloonEvents();
    const first = b.take(names, report('s', 1, [2, 1]));
    expect(first.ack).toEqual({ stream: 's', seq: 2 });
    expect(first.events.map((e) => (e.data as { seq: number }).seq)).toEqual([1, 2]);
    expect(first.events[0]).toEqual({
      kind: 'vm.balloon',
      resource: 'web',
      message: `VM web on host h1: balloon inflated (host memory pressure), 512 -> 384 MiB: ${REASON}`,
      data: { id: 'v1', hostId: 'h-1', host: 'h1', kind: 'inflate-pressure', fromMiB: 512, targetMiB: 384, reason: REASON, decidedAt: '2024-05-01T10:00:00.000Z', seq: 1, stream: 's' },
    });
    // The ack was lost: the agent sends them again, with one more.
    const again = b.take(names, report('s', 1, [1, 2, 3]));
    expect(again.events.map((e) => (e.data as { seq: number }).seq)).toEqual([3]);
    expect(again.ack).toEqual({ stream: 's', seq: 3 });
    expect(b.take(names, report('s', 4, [])).events).toEqual([]);
  });

  it('keeps hosts apart, and takes a new stream (a restarted agent) from its start', () => {
    const b = new BalloonEvents();
    b.take(names, report('s', 1, [1, 2, 3]));
    expect(b.take({ ...names, hostId: 'h-2', host: 'h2' }, report('s', 1, [1])).events).toHaveLength(1);
    expect(b.take(names, report('t', 1, [1])).events).toHaveLength(1);
  });

  it('after a controller restart publishes what the agent still holds, not its history', () => {
    const fresh = new BalloonEvents();
    const r = fresh.take(names, report('s', 41, [41, 42]));
    expect(r.events.map((e) => (e.data as { seq: number }).seq)).toEqual([41, 42]);
  });

  it('says so when the agent dropped decisions before they were reported', () => {
    const b = new BalloonEvents();
    b.take(names, report('s', 1, [1]));
    const r = b.take(names, report('s', 2, [7, 8]));
    expect(r.events.map((e) => e.kind)).toEqual(['host.balloon-lost', 'vm.balloon', 'vm.balloon']);
    expect(r.events[0]?.message).toBe("host h1: balloon decisions 2-6 were dropped by its agent before a report reached the controller (its queue is bounded); the agent's log has them");
  });

  it('names a VM the controller no longer knows by its id, and words each kind', () => {
    const b = new BalloonEvents();
    const r = b.take(names, { stream: 's', from: 1, decisions: [decision(1, { vmId: 'gone' }), decision(2, { kind: 'deflate-needy', fromMiB: 384, targetMiB: 512, reason: 'vm v1 has 20 MiB available < 64 MiB headroom' })] });
    expect(r.events.map((e) => [e.resource, e.message])).toEqual([
      ['gone', `VM gone on host h1: balloon inflated (host memory pressure), 512 -> 384 MiB: ${REASON}`],
      ['web', 'VM web on host h1: balloon deflated (the guest needs memory), 384 -> 512 MiB: vm v1 has 20 MiB available < 64 MiB headroom'],
    ]);
  });
});

describe('balloon decisions through a live controller', () => {
  let bed: TestBed;
  const events: DroverEvent[] = [];
  const subscribe = () => bed.ctl.ctx.state.events.subscribe((e) => events.push(e));
  const balloonEvents = () => events.filter((e) => e.kind === 'vm.balloon').map((e) => [e.resource, (e.data as { host: string; seq: number }).host, (e.data as { seq: number }).seq]);

  beforeAll(async () => {
    bed = await startTestBed();
    bed.agent.converge();
    const { job } = await bed.client.call('createVm', { body: { name: 'web', image: 'tiny', cpus: 1, memoryMiB: 512 } });
    await bed.client.waitJob(job.id, undefined, 20);
    bed.agent.stopConverging();
    subscribe();
  });
  afterAll(async () => {
    await bed?.stop();
  });

  it('publishes the decisions a report carries once, names VM and host, and acknowledges them', async () => {
    const vm = await bed.client.call('getVm', { params: { name: 'web' } });
    const d = (seq: number): BalloonDecision => decision(seq, { vmId: vm.id });
    bed.agent.balloon = { stream: 'agent-1', from: 1, decisions: [d(1), d(2)] };
    await bed.agent.report();
    expect(bed.agent.balloonAck).toEqual({ stream: 'agent-1', seq: 2 });
    await bed.agent.report(); // the agent missed the answer: sends them again
    expect(balloonEvents()).toEqual([['web', 'h1', 1], ['web', 'h1', 2]]);
    expect(events.find((e) => e.kind === 'vm.balloon')?.message).toBe(`VM web on host h1: balloon inflated (host memory pressure), 512 -> 384 MiB: ${REASON}`);

    // The controller restarts; the agent still holds seq 3, never acknowledged: only that one comes again.
    await bed.restart();
    events.length = 0;
    subscribe();
    bed.agent.balloon = { stream: 'agent-1', from: 3, decisions: [d(3)] };
    await bed.agent.report();
    expect(balloonEvents()).toEqual([['web', 'h1', 3]]);
    expect(bed.agent.balloonAck).toEqual({ stream: 'agent-1', seq: 3 });
    bed.agent.balloon = undefined;
    await bed.agent.report();
    expect(bed.agent.balloonAck).toBeUndefined();
  });
});
