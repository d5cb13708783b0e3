import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { FAKE_QMP_GREETING, startFakeQmp, sendQmp, type FakeQmpCommand, type OnFakeQmpCommand } from './test-support/fake-qmp.js';
import { QmpClient, QmpCommandError, QmpDisconnectedError, QmpTimeoutError, type QmpEvent } from './qmp-client.js';

type Command = FakeQmpCommand;
type OnCommand = OnFakeQmpCommand;
const send = sendQmp;
const reply = (conn: net.Socket, cmd: Command, ret: unknown = {}): boolean => send(conn, { return: ret, id: cmd.id });
const event = (name: string, data?: unknown): QmpEvent => ({ event: name, data, timestamp: { seconds: 1, microseconds: 2 } });

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const fn of cleanups.splice(0).reverse()) await fn();
});

async function connect(onCommand: OnCommand): Promise<{ client: QmpClient; received: Command[] }> {
  const fake = await startFakeQmp(onCommand, cleanups);
  const client = await QmpClient.connect(fake.path, { timeoutMs: 2000 });
  cleanups.push(() => client.close());
  return { client, received: fake.received };
}

describe('QmpClient', () => {
  it('reads the greeting and negotiates capabilities', async () => {
    const { client, received } = await connect(() => {});
    expect(client.version.qemu).toEqual({ major: 7, minor: 2, micro: 22 });
    expect(client.capabilities).toEqual(['oob']);
    expect(received[0]?.execute).toBe('qmp_capabilities');
    expect(received[0]?.id).toEqual(expect.any(String));
  });

  it('matches out-of-order replies by id, and ignores unknown ids', async () => {
    const held: Command[] = [];
    const { client } = await connect((cmd, conn) => {
      held.push(cmd);
      if (held.length < 2) return;
      send(conn, { return: 'stray', id: 'nobody' });
      reply(conn, held[1] as Command, 'second');
      reply(conn, held[0] as Command, 'first');
    });
    const [a, b] = await Promise.all([client.execute('query-a'), client.execute('query-b', { x: 1 })]);
    expect([a, b]).toEqual(['first', 'second']);
    expect(held[0]?.id).not.toBe(held[1]?.id);
    expect(held[1]?.arguments).toEqual({ x: 1 });
    expect(client.unmatchedReplies).toBe(1);
  });

  it('rejects an error reply with QmpCommandError', async () => {
    const { client } = await connect((cmd, conn) => send(conn, { error: { class: 'DeviceNotFound', desc: "Device 'x' not found" }, id: cmd.id }));
    const err = await client.execute('device_del', { id: 'x' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(QmpCommandError);
    expect(err).toMatchObject({ class: 'DeviceNotFound', desc: "Device 'x' not found", command: 'device_del' });
  });

  it('delivers events interleaved with replies to every consumer', async () => {
    const { client } = await connect((cmd, conn) => {
      const msgs = [event('STOP'), { return: { status: 'paused' }, id: cmd.id }, event('RESUME', { n: 1 })];
      conn.write(msgs.map((m) => JSON.stringify(m) + '\n').join(''));
      setTimeout(() => conn.destroy(), 20);
    });
    const seen: string[] = [];
    client.on('event', (ev) => seen.push(ev.event));
    const collect = async (): Promise<string[]> => {
      const names: string[] = [];
      for await (const ev of client.events()) names.push(ev.event);
      return names;
    };
    const [one, two] = [collect(), collect()];
    await expect(client.execute('stop')).resolves.toEqual({ status: 'paused' });
    expect(await one).toEqual(['STOP', 'RESUME']);
    expect(await two).toEqual(['STOP', 'RESUME']);
    expect(seen).toEqual(['STOP', 'RESUME']);
  });

  it('counts a malformed line and keeps working', async () => {
    const { client } = await connect((cmd, conn) => conn.write(`garbage{\n[1,2]\n${JSON.stringify({ return: 7, id: cmd.id })}\n`));
    const diagnostics: string[] = [];
    client.on('malformed', (m) => diagnostics.push(m.line));
    await expect(client.execute('query-x')).resolves.toBe(7);
    expect(client.malformedLines).toBe(2);
    expect(diagnostics).toEqual(['garbage{', '[1,2]']);
  });

  it('reassembles a message split across chunks, even inside a UTF-8 character', async () => {
    const { client } = await connect(async (cmd, conn) => {
      const bytes = Buffer.from(JSON.stringify({ return: { name: 'größe ✓' }, id: cmd.id }) + '\n');
      for (let i = 0; i < bytes.length; i += 3) {
        conn.write(bytes.subarray(i, i + 3));
        await new Promise((r) => setTimeout(r, 1));
      }
    });
    await expect(client.execute('query-name')).resolves.toEqual({ name: 'größe ✓' });
  });

  it('rejects pending commands with QmpDisconnectedError when the socket closes mid-reply', async () => {
    const { client } = await connect((cmd, conn) => {
      conn.write(`{"return": {"status": "runn`);
      setTimeout(() => conn.destroy(), 10);
    });
    const closed = new Promise((resolve) => client.on('close', resolve));
    const events = client.events();
    await expect(client.execute('query-status')).rejects.toBeInstanceOf(QmpDisconnectedError);
    await closed;
    expect(client.closed).toBe(true);
    await expect(events.next()).resolves.toEqual({ value: undefined, done: true });
    await expect(client.execute('cont')).rejects.toBeInstanceOf(QmpDisconnectedError);
  });

  it('times out a command without a reply, and ignores the late reply', async () => {
    const { client } = await connect((cmd, conn) => {
      if (cmd.execute === 'query-slow') setTimeout(() => reply(conn, cmd, 'late'), 60);
      else setTimeout(() => reply(conn, cmd, 'fast'), 80);
    });
    const err = await client.execute('query-slow', undefined, { timeoutMs: 30 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(QmpTimeoutError);
    expect(err).toMatchObject({ command: 'query-slow', timeoutMs: 30 });
    await expect(client.execute('query-fast')).resolves.toBe('fast');
    expect(client.unmatchedReplies).toBe(1);
    expect(client.closed).toBe(false);
  });

  it('treats ECONNRESET after quit as success', async () => {
    const fake = await fakeServerThatResets();
    const client = await QmpClient.connect(fake.path, { timeoutMs: 2000 });
    cleanups.push(() => client.close());
    const cause = new Promise<Error | undefined>((resolve) => client.on('close', resolve));
    const quitting = client.quit();
    fake.reset(); // the quit line sits unread in the server's queue, so closing resets the peer
    await expect(quitting).resolves.toBeUndefined();
    expect((await cause) as NodeJS.ErrnoException).toMatchObject({ code: 'ECONNRESET' });
  });

  it('waits for a matching event', async () => {
    const { client } = await connect((cmd, conn) => {
      reply(conn, cmd);
      send(conn, event('POWERDOWN'));
      send(conn, event('SHUTDOWN', { guest: true }));
    });
    const waiting = client.waitForEvent((ev) => ev.event === 'SHUTDOWN', 2000);
    await client.execute('system_powerdown');
    await expect(waiting).resolves.toMatchObject({ event: 'SHUTDOWN', data: { guest: true } });
  });
});

/** Answers qmp_capabilities, then stops reading; reset() closes with unread data, which resets the peer. */
async function fakeServerThatResets(): Promise<{ path: string; reset(): void }> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'qmp-'));
  const sockPath = path.join(dir, 'qmp.sock');
  let conn: net.Socket | undefined;
  const server = net.createServer((c) => {
    conn = c;
    c.on('error', () => {});
    send(c, FAKE_QMP_GREETING);
    c.once('data', (chunk: Buffer) => {
      reply(c, JSON.parse(chunk.toString()) as Command);
      (c as unknown as { _handle: { readStop(): void } })._handle.readStop();
    });
  });
  await new Promise<void>((resolve) => server.listen(sockPath, resolve));
  cleanups.push(async () => {
    conn?.destroy();
    await new Promise((resolve) => server.close(resolve));
    fs.rmSync(dir, { recursive: true, force: true });
  });
  return { path: sockPath, reset: () => conn?.destroy() };
}
