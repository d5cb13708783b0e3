// The WebSocket commands: serial console (piped input, detach key), logs
// --follow, and the event stream, against the fake controller.
import { PassThrough, Readable } from 'node:stream';
import { beforeEach, describe, expect, it } from 'vitest';
import type { DroverEvent } from '../api/resources.js';
import { newSuffix } from './commands/vm-logs.js';
import { FakeApi, reply, useFakeApi } from './test-support/fake-api.js';
import { run } from './test-support/samples.js';

const event = (seq: number, kind: string, message: string): DroverEvent => ({ seq, at: '2024-01-01T00:00:00.000Z', kind, resource: 'web', message });

describe('console, logs --follow and events', () => {
  let api: FakeApi;
  let env: Record<string, string>;
  useFakeApi((a, e) => ([api, env] = [a, e]));
  beforeEach(() => {
    api.wsRequests.length = 0;
  });

  it('pipes input to the serial console, stops at Ctrl-], and waits for the output to go quiet', async () => {
    const received: Buffer[] = [];
    api.onWs('console', (ws) => {
      ws.on('message', (data: Buffer) => {
        received.push(data);
        // A slow guest: the answer comes well after the input (and the detach key) was read.
        if (data.includes('echo')) setTimeout(() => ws.send(Buffer.from('\r\n42drover\r\n# ')), 700);
      });
    });
    const stdin = Readable.from([Buffer.from('\necho $((6*7))drover\n\x1dnot sent\n')]);
    const r = await run(['vm', 'console', 'web'], { env, stdin });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain("Connected to web's serial console. Detach with Ctrl-]");
    expect(r.stdout).toContain('42drover');
    expect(Buffer.concat(received).toString()).toBe('\necho $((6*7))drover\n');
    expect(api.wsRequests[0]?.params).toEqual({ name: 'web' });
  });

  it('detaches at the end of piped input too, and puts the terminal back', async () => {
    api.onWs('console', (ws) => ws.on('message', (d: Buffer) => ws.send(d)));
    const stdin = Object.assign(Readable.from([Buffer.from('ls\r')]), { isTTY: false });
    const r = await run(['vm', 'console', 'web'], { env, stdin });
    expect(r).toMatchObject({ code: 0, stdout: 'ls\r' });
  });

  it('uses raw mode on a terminal, detaching at once on Ctrl-]', async () => {
    api.onWs('console', (ws) => ws.on('message', (d: Buffer) => ws.send(d)));
    const modes: boolean[] = [];
    const stdin = Object.assign(new PassThrough(), { isTTY: true, setRawMode: (raw: boolean) => modes.push(raw) });
    const done = run(['vm', 'console', 'web'], { env, stdin });
    setTimeout(() => stdin.write('a'), 200);
    setTimeout(() => stdin.write('b\x1d'), 400);
    const r = await done;
    expect(r).toMatchObject({ code: 0, stdout: 'ab' });
    expect(r.stderr).toContain('Detached from web.');
    expect(modes).toEqual([true, false]);
  });

  it('reports a refused console (unknown VM) as an API error', async () => {
    api.onWs('console', () => undefined, (p) => reply(404, { error: { code: 'not_found', message: `no VM named ${p.name}`, field: 'name' } }));
    const r = await run(['vm', 'console', 'nope'], { env, stdin: new PassThrough() });
    expect(r).toMatchObject({ code: 1, stderr: 'error: no VM named nope\n  field: name\n' });
  });

  it('reports a console closed with an error code', async () => {
    api.onWs('console', (ws) => setTimeout(() => ws.close(1011, 'agent failed'), 100));
    const r = await run(['vm', 'console', 'web'], { env, stdin: new PassThrough() });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('error: the console connection closed (code 1011: agent failed)');
  });

  it('follows the log through the console, read-only', async () => {
    api.on('vmLogs', () => ({ text: 'boot\n' }));
    const received: Buffer[] = [];
    api.onWs('console', (ws) => {
      ws.on('message', (d: Buffer) => received.push(d));
      setTimeout(() => ws.send('more\n'), 100);
      setTimeout(() => ws.close(1000, 'vm stopped'), 300);
    });
    const r = await run(['vm', 'logs', 'web', '--follow'], { env });
    expect(r).toMatchObject({ code: 0, stdout: 'boot\nmore\n' });
    expect(received).toEqual([]);
  });

  it('polls the log when the console cannot be opened', async () => {
    const texts = ['a\n', 'a\nb\n', 'a\nb\nc\n'];
    let calls = 0;
    api.on('vmLogs', () => ({ text: texts[Math.min(calls++, texts.length - 1)] }));
    api.onWs('console', () => undefined, () => reply(503, { error: { code: 'unavailable', message: 'VM web has no host' } }));
    const stop = new AbortController();
    setTimeout(() => stop.abort(), 3500);
    const r = await run(['vm', 'logs', 'web', '-f'], { env, signal: stop.signal });
    expect(r).toMatchObject({ code: 0, stdout: 'a\nb\nc\n' });
  });

  it('finds what is new in a later tail of the log', () => {
    expect(newSuffix('', 'abc')).toBe('abc');
    expect(newSuffix('abc', 'abc')).toBe('');
    expect(newSuffix('abc', 'abcdef')).toBe('def');
    expect(newSuffix('abc', 'xyz')).toBe('xyz');
    const tick = 'tick\n'.repeat(100);
    expect(newSuffix(tick, tick.slice(5) + 'tock\n')).toBe('tock\n');
    const window = 'y'.repeat(50) + 'x'.repeat(300) + 'END';
    expect(newSuffix(window, `${window.slice(4)}+new`)).toBe('+new');
  });

  it('follows the event stream as lines or JSON lines', async () => {
    api.onWs('events', (ws) => {
      ws.send(JSON.stringify(event(1, 'vm.created', 'VM web created on host h0')));
      ws.send(JSON.stringify(event(2, 'vm.phase', 'web: Pending -> Starting')));
    });
    for (const json of [false, true]) {
      const stop = new AbortController();
      setTimeout(() => stop.abort(), 400);
      const r = await run(json ? ['events', '--json'] : ['events'], { env, signal: stop.signal });
      expect(r.code, r.stderr).toBe(0);
      const lines = r.stdout.trimEnd().split('\n');
      if (json) expect(lines.map((l) => (JSON.parse(l) as DroverEvent).seq)).toEqual([1, 2]);
      else expect(lines).toEqual(['2024-01-01T00:00:00.000Z  vm.created   VM web created on host h0', '2024-01-01T00:00:00.000Z  vm.phase     web: Pending -> Starting']);
    }
  });

  it('fails when the controller ends the event stream', async () => {
    api.onWs('events', (ws) => setTimeout(() => ws.close(1001, 'controller shutting down'), 100));
    const r = await run(['events'], { env });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('the controller closed the event stream (code 1001: controller shutting down)');
  });
});
