// What the controller proxies to the agent (serial log, console WebSocket,
// image jobs) and the event stream.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import type { DroverEvent } from '../api/resources.js';
import { TINY } from './test-support/fake-agent.js';
import { eventually, startTestBed, type TestBed } from './test-support/harness.js';

describe('proxies and events', () => {
  let bed: TestBed;
  beforeAll(async () => {
    bed = await startTestBed();
    bed.agent.converge();
    const { job } = await bed.client.call('createVm', { body: { name: 'px', image: 'tiny' } });
    await bed.client.waitJob(job.id, undefined, 20);
  });
  afterAll(async () => {
    await bed?.stop();
  });

  it('tails the serial log through the agent, with the host credential', async () => {
    bed.agent.serialText = 'Linux version 6.1\nDROVER-READY\n';
    expect(await bed.client.call('vmLogs', { params: { name: 'px' }, query: { bytes: 1000 } })).toEqual({ text: 'Linux version 6.1\nDROVER-READY\n' });
    const call = bed.agent.calls.findLast((c) => c.path.endsWith('/serial'));
    expect(call?.authorization).toBe(`Bearer ${bed.agent.credential}`);
  });

  it('proxies the console both ways, text and binary, and refuses without a token', async () => {
    const url = bed.client.wsUrl('console', { name: 'px' });
    const ws = new WebSocket(url);
    const received: Array<{ data: Buffer; isBinary: boolean }> = [];
    ws.on('message', (data, isBinary) => received.push({ data: data as Buffer, isBinary }));
    // Sent before the upstream is open: buffered, not lost.
    await new Promise<void>((resolve, reject) => ws.once('open', () => resolve()).once('error', reject));
    ws.send('ls\r');
    const bytes = Buffer.from([0, 1, 2, 0xff, 0x1b, 0x5b]);
    ws.send(bytes, { binary: true });
    await eventually(() => received.length === 2, 'echo');
    expect(received[0]).toMatchObject({ isBinary: false });
    expect(received[0]!.data.toString()).toBe('ls\r');
    expect(received[1]!.isBinary).toBe(true);
    expect(Buffer.compare(received[1]!.data, bytes)).toBe(0);
    ws.close();
    const noToken = new WebSocket(url.replace(/token=[^&]+/, 'token=wrong'));
    const status = await new Promise<number>((resolve) => noToken.once('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0)));
    expect(status).toBe(401);
  });

  it('streams events of every state change', async () => {
    const ws = new WebSocket(bed.client.wsUrl('events'));
    const events: DroverEvent[] = [];
    ws.on('message', (d) => events.push(JSON.parse(String(d)) as DroverEvent));
    await new Promise<void>((resolve) => ws.once('open', () => resolve()));
    const { job } = await bed.client.call('stopVm', { params: { name: 'px' }, body: {} });
    await bed.client.waitJob(job.id, undefined, 20);
    await eventually(() => events.some((e) => e.kind === 'job.updated' && (e.data as { state?: string }).state === 'succeeded'), 'job event');
    const phases = events.filter((e) => e.kind === 'vm.phase').map((e) => (e.data as { to: string }).to);
    expect(phases).toEqual(['Stopping', 'Stopped']);
    expect(events.every((e, i) => i === 0 || e.seq > events[i - 1]!.seq)).toBe(true);
    ws.close();
  });

  it('builds an image through the agent, keeping progress, and records it', async () => {
    bed.agent.imageLines = [
      { type: 'progress', step: 'kernel', done: 1, total: 3, message: 'downloading' },
      { type: 'progress', step: 'initramfs', done: 2, total: 3 },
      { type: 'done', image: { ...TINY, name: 'tiny2' } },
    ];
    const job = await bed.client.call('buildImage', { body: { name: 'tiny' } });
    const done = await bed.client.waitJob(job.id, undefined, 20);
    expect(done.progress).toMatchObject({ done: 1, total: 1 });
    expect((await bed.client.call('listImages')).find((i) => i.name === 'tiny2')?.hosts).toEqual([bed.agent.hostId]);
    expect(bed.agent.calls.findLast((c) => c.path === '/agent/v1/images/build')?.body).toBe(JSON.stringify({ name: 'tiny' }));
  });

  it("carries the agent's error field into the job error", async () => {
    bed.agent.imageLines = [{ type: 'error', message: 'file /x/junk.img is not a disk image', field: 'file' }];
    const job = await bed.client.call('importImage', { body: { name: 'junk', file: '/x/junk.img' } });
    await expect(bed.client.waitJob(job.id, undefined, 20)).rejects.toMatchObject({ code: 'invalid', field: 'file' });
    const failed = await bed.client.call('getJob', { params: { id: job.id } });
    expect(failed).toMatchObject({ state: 'failed', error: { code: 'invalid', field: 'file', message: expect.stringContaining('not a disk image') } });
  });

  it('refuses an import without a file, naming the field', async () => {
    await expect(bed.client.call('importImage', { body: { name: 'nofile' } })).rejects.toMatchObject({ code: 'invalid', field: 'file' });
  });
});
