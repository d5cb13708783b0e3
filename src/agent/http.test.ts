// The agent's API on a real port: auth, health, port checks, serial log,
// the console WebSocket (history, live bytes both ways) and NDJSON import.
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import type { VmAssignment } from '../api/agent-protocol.js';
import type { HostCapsResolved } from '../qemu/vm-spec.js';
import { Agent } from './agent.js';
import { buildAgentServer } from './http.js';
import { agentPaths, newVmFile, saveVmFile, vmDir } from './state-files.js';

const CRED = 'host1.secret';
const caps: HostCapsResolved = { kvm: false, sandbox: false, qemuBinary: '/nonexistent/qemu', qemuVersion: '7.2.0', balloonFreePageReporting: false, odirect: () => false };
const vm: VmAssignment = {
  id: 'aaaabbbbccccdddd', name: 'web', power: 'stopped', epoch: 0, rebootSeq: 0, forceStop: false,
  spec: { image: 'tiny', cpus: 1, maxCpus: 1, memoryMiB: 256, maxMemoryMiB: 256, volumes: [], ports: [], mac: '52:54:00:00:00:01' },
};

describe('agent HTTP API', () => {
  let root: string;
  let app: FastifyInstance;
  let agent: Agent;
  let base: string;
  const get = (p: string, token = CRED) => fetch(`${base}${p}`, { headers: { authorization: `Bearer ${token}` } });
  const post = (p: string, body: unknown) =>
    fetch(`${base}${p}`, { method: 'POST', headers: { authorization: `Bearer ${CRED}`, 'content-type': 'application/json' }, body: JSON.stringify(body) });

  beforeAll(async () => {
    root = fs.mkdtempSync('/tmp/drover-http-');
    const paths = agentPaths(path.join(root, 's'));
    saveVmFile(paths, newVmFile(vm));
    fs.writeFileSync(path.join(vmDir(paths, vm.id), 'serial.log'), 'old boot\r\nDROVER-READY\r\n');
    agent = new Agent({ paths, imagesDir: path.join(root, 'images'), caps, stopGraceMs: 1000, log: pino({ level: 'silent' }), changed: () => {}, removed: () => {} });
    await agent.reattach();
    app = await buildAgentServer({ agent, imagesDir: path.join(root, 'images'), log: pino({ level: 'silent' }), credential: () => CRED, hostId: () => 'host1' });
    await app.listen({ host: '127.0.0.1', port: 0 });
    base = `http://127.0.0.1:${(app.server.address() as net.AddressInfo).port}`;
  });
  afterAll(async () => {
    await app?.close();
    fs.rmSync(root, { recursive: true, force: true });
  });

  it('refuses calls without the host credential', async () => {
    const res = await get('/agent/v1/health', 'wrong');
    expect(res.status).toBe(401);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe('unauthorized');
    expect((await fetch(`${base}/agent/v1/health`)).status).toBe(401);
    expect((await get('/agent/v1/health')).status).toBe(200);
    expect((await fetch(`${base}/agent/v1/health?token=${CRED}`)).status).toBe(200);
  });

  it('tails the serial log, and 404s an unknown VM', async () => {
    expect(await (await get(`/agent/v1/vms/${vm.id}/serial?bytes=14`)).json()).toEqual({ text: 'DROVER-READY\r\n' });
    const missing = await get('/agent/v1/vms/nope/serial');
    expect(missing.status).toBe(404);
    const bad = await get(`/agent/v1/vms/${vm.id}/serial?bytes=0`);
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { error: { field: string } }).error.field).toBe('bytes');
  });

  it('checks ports', async () => {
    const server = net.createServer();
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    const port = (server.address() as net.AddressInfo).port;
    const res = await post('/agent/v1/ports/check', { ports: [{ hostAddress: '127.0.0.1', hostPort: port, proto: 'tcp' }] });
    server.close();
    expect(await res.json()).toEqual({ busy: [port] });
  });

  it('streams an import as NDJSON and ends with an error naming the field', async () => {
    const junk = path.join(root, 'junk.img');
    fs.writeFileSync(junk, 'not a disk');
    const res = await post('/agent/v1/images/import', { name: 'junk', file: junk });
    expect(res.headers.get('content-type')).toContain('application/x-ndjson');
    const lines = (await res.text()).trim().split('\n').map((l) => JSON.parse(l) as { type: string; field?: string });
    expect(lines.at(-1)).toMatchObject({ type: 'error', field: 'file' });
    const invalid = await post('/agent/v1/images/build', { name: 'huge' });
    expect(invalid.status).toBe(400);
  });

  it('serves the console: history on connect, then live bytes both ways', async () => {
    // A stand-in for QEMU's serial socket.
    const runDir = vmDir(agent.ctx.paths, vm.id);
    const fromConsole: Buffer[] = [];
    let guest: net.Socket | undefined;
    const serial = net.createServer((s) => {
      guest = s;
      s.on('data', (d) => fromConsole.push(d));
    });
    await new Promise<void>((r) => serial.listen(path.join(runDir, 'serial.sock'), () => r()));
    agent.vm(vm.id)!.serial.connect(runDir, process.pid);
    await until(() => guest !== undefined);

    const ws = new WebSocket(`${base.replace('http', 'ws')}/agent/v1/vms/${vm.id}/console?token=${CRED}`);
    const received: Buffer[] = [];
    ws.on('message', (d: Buffer) => received.push(d));
    await new Promise((r) => ws.once('open', r));
    await until(() => Buffer.concat(received).toString().includes('DROVER-READY'));
    guest!.write('live output\n');
    await until(() => Buffer.concat(received).toString().includes('live output'));
    ws.send('ls\n');
    ws.send(Buffer.from([0x1b, 0x5b, 0x41]), { binary: true });
    await until(() => Buffer.concat(fromConsole).length >= 6);
    expect(Buffer.concat(fromConsole)).toEqual(Buffer.from('ls\n\x1b[A'));
    ws.close();
    agent.vm(vm.id)!.serial.disconnect();
    serial.close();
    // What the guest printed is in serial.log too.
    expect((await (await get(`/agent/v1/vms/${vm.id}/serial`)).json()) as { text: string }).toMatchObject({ text: expect.stringContaining('live output') });
  });

  it('refuses a console for an unknown VM before the upgrade', async () => {
    const ws = new WebSocket(`${base.replace('http', 'ws')}/agent/v1/vms/nope/console?token=${CRED}`);
    const status = await new Promise<number>((resolve) => ws.on('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0)));
    expect(status).toBe(404);
  });
});

async function until(cond: () => boolean): Promise<void> {
  for (let i = 0; i < 200 && !cond(); i++) await new Promise((r) => setTimeout(r, 20));
  if (!cond()) throw new Error('timed out');
}

