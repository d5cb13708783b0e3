// A fake QMP server on a unix socket for unit tests: greets like QEMU 7.2,
// answers qmp_capabilities itself and hands every other command to onCommand.
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { LineSplitter } from '../json-lines.js';

export interface FakeQmpCommand {
  execute: string;
  arguments?: Record<string, unknown>;
  id: string;
}
export type OnFakeQmpCommand = (cmd: FakeQmpCommand, conn: net.Socket) => void;

export const FAKE_QMP_GREETING = { QMP: { version: { qemu: { major: 7, minor: 2, micro: 22 }, package: 'fake' }, capabilities: ['oob'] } };

export function sendQmp(conn: net.Socket, msg: unknown): boolean {
  return conn.write(JSON.stringify(msg) + '\n');
}

/** Starts the server; `cleanups` gets the function that closes it and removes its directory. `received` holds the commands (qmp_capabilities too unless skipCapabilities). */
export async function startFakeQmp(onCommand: OnFakeQmpCommand, cleanups: (() => Promise<void> | void)[], opts: { skipCapabilities?: boolean } = {}): Promise<{ path: string; received: FakeQmpCommand[] }> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'qmp-'));
  const sockPath = path.join(dir, 'qmp.sock');
  const received: FakeQmpCommand[] = [];
  const conns = new Set<net.Socket>();
  const server = net.createServer((conn) => {
    conns.add(conn);
    conn.on('error', () => {});
    const lines = new LineSplitter();
    sendQmp(conn, FAKE_QMP_GREETING);
    conn.on('data', (chunk: Buffer) => {
      for (const line of lines.push(chunk)) {
        const cmd = JSON.parse(line) as FakeQmpCommand;
        const capabilities = cmd.execute === 'qmp_capabilities';
        if (!capabilities || !opts.skipCapabilities) received.push(cmd);
        if (capabilities) sendQmp(conn, { return: {}, id: cmd.id });
        else onCommand(cmd, conn);
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(sockPath, resolve));
  cleanups.push(async () => {
    for (const c of conns) c.destroy();
    await new Promise((resolve) => server.close(resolve));
    fs.rmSync(dir, { recursive: true, force: true });
  });
  return { path: sockPath, received };
}
