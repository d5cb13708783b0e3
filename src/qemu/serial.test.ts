import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { SerialLink } from './serial.js';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const fn of cleanups.splice(0).reverse()) await fn();
});

function tempSocketPath(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'serial-'));
  cleanups.push(() => fs.rmSync(dir, { recursive: true, force: true }));
  return path.join(dir, 'serial.sock');
}

/** A fake QEMU serial chardev: one client at a time, records what it receives. */
async function listen(sockPath: string): Promise<{ server: net.Server; clients: net.Socket[]; received: () => string }> {
  let input = '';
  const clients: net.Socket[] = [];
  const server = net.createServer((c) => {
    clients.push(c);
    c.on('error', () => {});
    c.on('data', (d: Buffer) => (input += d.toString()));
  });
  await new Promise<void>((resolve) => server.listen(sockPath, resolve));
  cleanups.push(async () => {
    for (const c of clients) c.destroy();
    await new Promise((resolve) => server.close(resolve));
  });
  return { server, clients, received: () => input };
}

function link(sockPath: string, isAlive?: () => boolean): SerialLink {
  const l = new SerialLink(sockPath, { retryMs: 10, ...(isAlive ? { isAlive } : {}) });
  cleanups.push(() => l.close());
  return l;
}

const nextData = (l: SerialLink): Promise<string> => new Promise((resolve) => l.once('data', (d: Buffer) => resolve(d.toString())));
const until = async (cond: () => boolean): Promise<void> => {
  while (!cond()) await new Promise((r) => setTimeout(r, 5));
};

describe('SerialLink', () => {
  it('waits for the socket to appear, then carries output and input', async () => {
    const sockPath = tempSocketPath();
    const serial = link(sockPath);
    serial.write('typed early\n');
    await new Promise((r) => setTimeout(r, 40)); // a few failed attempts first
    const fake = await listen(sockPath);
    await serial.waitConnected(2000);
    const data = nextData(serial);
    fake.clients[0]?.write('login: ');
    expect(await data).toBe('login: ');
    serial.write('root\n');
    await until(() => fake.received().includes('root\n'));
    expect(fake.received()).toBe('typed early\nroot\n');
  });

  it('reconnects when the socket drops while QEMU lives', async () => {
    const sockPath = tempSocketPath();
    const fake = await listen(sockPath);
    const serial = link(sockPath);
    await serial.waitConnected(2000);
    const dropped = new Promise((resolve) => serial.once('disconnect', resolve));
    fake.clients[0]?.destroy();
    await dropped;
    serial.write('after drop\n');
    await serial.waitConnected(2000);
    expect(fake.clients).toHaveLength(2);
    await until(() => fake.received().includes('after drop\n'));
  });

  it('ends when QEMU is gone', async () => {
    const sockPath = tempSocketPath();
    const fake = await listen(sockPath);
    let alive = true;
    const serial = link(sockPath, () => alive);
    await serial.waitConnected(2000);
    const ended = new Promise((resolve) => serial.once('end', resolve));
    alive = false;
    fake.clients[0]?.destroy();
    await ended;
    expect(serial.connected).toBe(false);
  });

  it('stops retrying after close()', async () => {
    const sockPath = tempSocketPath();
    const serial = link(sockPath);
    serial.close();
    await expect(serial.waitConnected(50)).rejects.toThrow(/ended/);
    const fake = await listen(sockPath);
    await new Promise((r) => setTimeout(r, 40));
    expect(fake.clients).toHaveLength(0);
  });
});
