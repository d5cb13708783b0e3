// Jobs survive the controller: a clean restart and a SIGKILL in the middle of
// vm.create both end with the job finished and the epoch bumped exactly once.
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DroverClient } from '../api/client.js';
import { startController } from './controller.js';
import { FakeAgent, vmReport } from './test-support/fake-agent.js';
import { eventually, startTestBed, type TestBed } from './test-support/harness.js';

describe('job runner across restarts', () => {
  let bed: TestBed;
  beforeAll(async () => {
    bed = await startTestBed();
  });
  afterAll(async () => {
    await bed?.stop();
  });

  it('resumes a running job from its first unfinished step after a restart', async () => {
    const { vm, job } = await bed.client.call('createVm', { body: { name: 'resumed', image: 'tiny' } });
    const a = await eventually(async () => (await bed.agent.assignments()).vms[0], 'assignment');
    await bed.restart();
    const after = await bed.client.call('getJob', { params: { id: job.id } });
    expect(after.state).toBe('running');
    expect(after.steps.map((s) => s.state)).toEqual(['running', 'pending', 'pending']);

    await bed.agent.report([vmReport(a, 'stopped')]);
    const started = await eventually(async () => (await bed.agent.assignments()).vms.find((v) => v.power === 'running'), 'start');
    expect(started.epoch).toBe(1);
    // Restart while the job waits for Running: the start is not written twice.
    await bed.restart();
    expect((await bed.client.call('getVm', { params: { name: 'resumed' } })).epoch).toBe(1);
    await bed.agent.report([vmReport(started, 'running')]);
    const done = await bed.client.waitJob(job.id, undefined, 20);
    expect(done.steps.map((s) => s.state)).toEqual(['done', 'done', 'done']);
    expect(await bed.client.call('getVm', { params: { name: vm.id } })).toMatchObject({ phase: 'Running', epoch: 1 });
  });
});

describe('DROVER_CRASH_AT test hook', () => {
  const stateDir = mkdtempSync(join(tmpdir(), 'drover-crash-'));
  const agent = new FakeAgent('');
  let child: ReturnType<typeof spawn> | undefined;
  afterAll(async () => {
    if (child && child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    await agent.stop();
    rmSync(stateDir, { recursive: true, force: true });
  });

  it('a controller killed right before vm.create:start finishes the job after a restart', async () => {
    const entry = new URL('./main.ts', import.meta.url).pathname;
    child = spawn(process.execPath, ['--import', 'tsx', entry, '--state-dir', stateDir, '--listen', '127.0.0.1:0'], {
      env: { ...process.env, DROVER_CRASH_AT: 'vm.create:start', DROVER_LOG_LEVEL: 'warn' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const proc = child;
    const exited = new Promise<NodeJS.Signals | null>((resolve) => proc.once('exit', (_code, signal) => resolve(signal)));
    let out = '';
    proc.stderr?.on('data', (d: Buffer) => (out += d.toString()));
    const url = await new Promise<string>((resolve, reject) => {
      proc.stdout?.on('data', (d: Buffer) => {
        out += d.toString();
        const m = /controller ready url=(\S+)/.exec(out);
        if (m?.[1]) resolve(m[1]);
      });
      proc.once('exit', () => reject(new Error(`controller exited early:\n${out}`)));
    });
    expect(out).toMatch(/admin token \(shown once/);
    const admin = new DroverClient({ baseUrl: url, token: readFileSync(join(stateDir, 'admin-token'), 'utf8').trim() });
    agent.controllerUrl = url;
    await agent.start();
    await agent.join(readFileSync(join(stateDir, 'join-token'), 'utf8').trim());
    await agent.report();

    const { job } = await admin.call('createVm', { body: { name: 'crashy', image: 'tiny' } });
    const a = await eventually(async () => (await agent.assignments()).vms[0], 'assignment');
    await agent.report([vmReport(a, 'stopped')]);
    expect(await exited).toBe('SIGKILL');

    const ctl = await startController({ stateDir, port: 0, log: pino({ level: 'silent' }) });
    try {
      const client = new DroverClient({ baseUrl: ctl.url, token: ctl.secrets.adminToken });
      expect(ctl.secrets.created).toBe(false);
      agent.controllerUrl = ctl.url;
      const started = await eventually(async () => (await agent.assignments()).vms.find((v) => v.power === 'running'), 'start after restart');
      expect(started.epoch).toBe(1);
      await agent.report([vmReport(started, 'running')]);
      const done = await client.waitJob(job.id, undefined, 20);
      expect(done.state).toBe('succeeded');
      expect((await client.call('listVms')).map((v) => [v.name, v.phase, v.epoch])).toEqual([['crashy', 'Running', 1]]);
    } finally {
      await ctl.close();
    }
  }, 60_000);
});
