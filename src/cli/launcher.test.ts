// bin/drover as a user runs it: a subprocess, through a symlink, with the
// controller from the environment.
import { spawn } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FakeApi } from './test-support/fake-api.js';
import { sampleHost, sampleJob, sampleVm, type RunResult } from './test-support/samples.js';

const REPO = resolve(import.meta.dirname, '..', '..');

/** Runs from `cwd` outside the repo, as a user would from anywhere. */
function spawnDrover(bin: string, args: string[], env: Record<string, string>, input = '', cwd = tmpdir()): Promise<RunResult> {
  return new Promise((done, fail) => {
    const child = spawn(bin, args, { cwd, env: { PATH: process.env.PATH ?? '/usr/bin:/bin', ...env }, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', fail);
    child.on('exit', (code) => done({ code: code ?? -1, stdout, stderr }));
    child.stdin.end(input);
  });
}

describe('bin/drover', () => {
  let api: FakeApi;
  let dir: string;
  let link: string;
  let env: Record<string, string>;
  beforeAll(async () => {
    api = await new FakeApi().start();
    api.on('listVms', () => [sampleVm()]).on('listHosts', () => [sampleHost()]);
    api.onWs('console', (ws) => ws.on('message', (d: Buffer) => ws.send(Buffer.from(d.toString().toUpperCase()))));
    dir = mkdtempSync(join(tmpdir(), 'drover-bin-'));
    link = join(dir, 'drover');
    symlinkSync(join(REPO, 'bin', 'drover'), link);
    env = { HOME: dir, DROVER_URL: api.url, DROVER_TOKEN: api.token };
  });
  afterAll(async () => {
    await api.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('runs through a symlink and prints JSON', async () => {
    const r = await spawnDrover(link, ['vm', 'list', '--json'], env);
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual([sampleVm()]);
  });

  it("resolves an import's relative paths against the caller's directory", async () => {
    api.on('importImage', () => sampleJob({ kind: 'image.import', target: 'mine', state: 'running' }));
    const r = await spawnDrover(link, ['image', 'import', 'mine', '--kernel', 'k/bzImage', '--initrd', 'initrd.gz', '--no-wait'], env, '', dir);
    expect(r.code, r.stderr).toBe(0);
    expect(api.requests.findLast((q) => q.route === 'importImage')?.body).toEqual({ name: 'mine', kernel: join(dir, 'k/bzImage'), initrd: join(dir, 'initrd.gz') });
  });

  it('exits 2 on a usage error without calling the controller', async () => {
    const before = api.count();
    const r = await spawnDrover(link, ['vm', 'create', 'web', '--disk', 'lots'], env);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^error: --disk: .*\n {2}field: --disk\n {2}allowed: /);
    expect(api.count()).toBe(before);
  });

  it('pipes stdin to the console and exits after the detach key', async () => {
    const r = await spawnDrover(link, ['vm', 'console', 'web'], env, 'hello\n\x1dignored');
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toBe('HELLO\n');
    expect(r.stderr).toContain("Connected to web's serial console");
  });

  it('says what to do when DROVER_USE_DIST=1 finds no build', async () => {
    // A copy of the launcher in a tree that has no dist/, whatever this checkout has built.
    const bare = join(dir, 'bare');
    mkdirSync(join(bare, 'bin'), { recursive: true });
    copyFileSync(join(REPO, 'bin', 'drover'), join(bare, 'bin', 'drover'));
    const r = await spawnDrover(join(bare, 'bin', 'drover'), ['vm', 'list'], { ...env, DROVER_USE_DIST: '1' });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('npm run build');
  });
});
