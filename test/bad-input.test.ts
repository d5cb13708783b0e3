// Bad input gets a clear error naming the field, a non-zero exit, and changes
// nothing: no VM record, no volume, no QEMU process.
import { writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { drover } from './cli.js';
import { startCluster, startProcess, type Cluster } from './harness.js';

describe('bad input changes nothing', () => {
  let c: Cluster;
  let blocker: Server;
  let busyPort = 0;
  const run = (...args: string[]) => drover(c.url, c.token, args);
  const snapshot = async () => ({
    vms: (await c.client.call('listVms')).map((v) => `${v.name}:${v.phase}`).sort(),
    volumes: (await c.client.call('listVolumes')).length,
    qemu: c.qemuPids().length,
    images: (await c.client.call('listImages')).map((i) => i.name).sort(),
  });

  beforeAll(async () => {
    c = await startCluster();
    blocker = createServer();
    await new Promise<void>((r) => blocker.listen(0, '127.0.0.1', () => r()));
    busyPort = (blocker.address() as { port: number }).port;
    // One existing VM (not started) so "name taken" has something to hit.
    const created = await run('vm', 'create', 'taken', '--image', 'tiny', '--memory', '256', '--no-start');
    expect(created.code, created.stderr).toBe(0);
  });
  afterAll(async () => {
    blocker?.close();
    await c?.stop();
  });

  const cases: Array<{ what: string; args: () => string[]; code: number | number[]; mentions: RegExp }> = [
    { what: 'a bad name', args: () => ['vm', 'create', 'Bad_Name', '--image', 'tiny'], code: [1, 2], mentions: /name/i },
    { what: 'a bad memory size', args: () => ['vm', 'create', 'okname', '--image', 'tiny', '--memory', '12x'], code: 2, mentions: /--memory/ },
    { what: 'too little memory', args: () => ['vm', 'create', 'okname', '--image', 'tiny', '--memory', '64'], code: 2, mentions: /--memory[\s\S]*128/ },
    { what: 'too many cpus', args: () => ['vm', 'create', 'okname', '--image', 'tiny', '--cpus', '500'], code: 2, mentions: /--cpus/ },
    { what: 'a bad port', args: () => ['vm', 'create', 'okname', '--image', 'tiny', '--port', '99999:80'], code: 2, mentions: /--port/ },
    { what: 'an unknown image', args: () => ['vm', 'create', 'okname', '--image', 'nosuch'], code: 1, mentions: /image[\s\S]*tiny/i },
    { what: 'a port already in use', args: () => ['vm', 'create', 'okname', '--image', 'tiny', '--port', `${busyPort}:80`], code: 1, mentions: new RegExp(`${busyPort}`) },
    { what: 'a name taken', args: () => ['vm', 'create', 'taken', '--image', 'tiny'], code: 1, mentions: /taken|exists/i },
    { what: 'an unknown VM', args: () => ['vm', 'start', 'ghost'], code: 1, mentions: /ghost/ },
  ];

  for (const t of cases) {
    it(`refuses ${t.what}`, async () => {
      const before = await snapshot();
      const r = await run(...t.args());
      expect([t.code].flat(), r.stdout + r.stderr).toContain(r.code);
      expect(r.stderr).toMatch(/error:/);
      expect(r.stderr).toMatch(t.mentions);
      expect(await snapshot()).toEqual(before);
    });
  }

  it('the API itself refuses what the CLI would catch, naming the field', async () => {
    const before = await snapshot();
    const err = await c.client.call('createVm', { body: { name: 'okname', image: 'tiny', memoryMiB: 64 } }).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'invalid' });
    expect((err as { field?: string }).field).toMatch(/memoryMiB/);
    expect((err as Error).message).toMatch(/128/);
    expect(await snapshot()).toEqual(before);
  });

  it('refuses to import a file that is not an image, naming the field', async () => {
    const before = await snapshot();
    const junk = join(c.home, 'junk.img');
    writeFileSync(junk, 'this is not a disk image\n'.repeat(100));
    const r = await run('image', 'import', 'junk', '--file', junk);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/file/);
    expect(await snapshot()).toEqual(before);
  });

  it('an agent without QEMU says what is missing and exits', async () => {
    const started = startProcess('src/agent/main.ts', ['--controller', c.url, '--name', 'noqemu', '--state-dir', join(c.home, 'agents', 'noqemu')], { PATH: '/nonexistent', DROVER_JOIN_TOKEN: 'x' }, /agent ready/, 20_000);
    await expect(started).rejects.toThrow(/qemu-system-x86_64[\s\S]*qemu-system-x86/);
  });
});
