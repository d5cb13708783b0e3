// A controller killed (SIGKILL) in the middle of a failover, right after it
// committed the restart of the first of two HA VMs, finishes the failover
// after it starts again, and restarts each VM exactly once: one epoch more,
// never two. Real controller process, real SQLite, fake agents, lease
// records written by the test.
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { afterAll, describe, expect, it } from 'vitest';
import { DroverClient } from '../api/client.js';
import { startController, type RunningController } from './controller.js';
import { FakeAgent } from './test-support/fake-agent.js';
import { eventually } from './test-support/harness.js';
import { LeaseWriter, sharedInventory } from './test-support/lease-writer.js';

describe('a controller killed during a failover', () => {
  const stateDir = mkdtempSync(join(tmpdir(), 'drover-ha-crash-'));
  const pool = mkdtempSync(join(tmpdir(), 'drover-pool-'));
  writeFileSync(join(pool, 'drover-pool-id'), 'pool-1\n');
  const [h1, h2] = [new FakeAgent(''), new FakeAgent('')];
  const leases: LeaseWriter[] = [];
  let child: ReturnType<typeof spawn> | undefined;
  let ctl: RunningController | undefined;
  afterAll(async () => {
    if (child && child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    for (const l of leases) l.stop();
    await h1.stop();
    await h2.stop();
    await ctl?.close();
    rmSync(stateDir, { recursive: true, force: true });
    rmSync(pool, { recursive: true, force: true });
  });

  it('finishes it after a restart, restarting each VM exactly once', async () => {
    const entry = new URL('./main.ts', import.meta.url).pathname;
    child = spawn(process.execPath, ['--import', 'tsx', entry, '--state-dir', stateDir, '--listen', '127.0.0.1:0', '--shared-pool', pool, '--ha-io-timeout', '200'], {
      env: { ...process.env, DROVER_CRASH_AT: 'ha.failover:restart#1', DROVER_LOG_LEVEL: 'warn' },
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
    const admin = new DroverClient({ baseUrl: url, token: readFileSync(join(stateDir, 'admin-token'), 'utf8').trim() });
    const joinToken = readFileSync(join(stateDir, 'join-token'), 'utf8').trim();
    for (const [a, name] of [[h1, 'h1'], [h2, 'h2']] as const) {
      a.controllerUrl = url;
      a.inventory = sharedInventory(pool);
      await a.start();
      await a.join(joinToken, name);
      await a.report();
      a.converge();
      a.heartbeat(100);
      leases.push(new LeaseWriter(pool, a.hostId).start(50));
    }
    for (const [name, haPriority] of [['one', 2], ['two', 1]] as const) {
      const { job } = await admin.call('createVm', { body: { name, image: 'tiny', host: 'h1', storage: 'shared', ha: true, haPriority } });
      await admin.waitJob(job.id, undefined, 20);
    }
    const epochs = Object.fromEntries((await admin.call('listVms')).map((v) => [v.name, v.epoch]));
    expect(epochs).toEqual({ one: 1, two: 1 });

    h1.silence();
    leases[0]!.stop();
    expect(await exited).toBe('SIGKILL'); // right after the restart of `one` was committed

    ctl = await startController({ stateDir, port: 0, log: pino({ level: 'silent' }), sharedPoolDir: pool, haIoTimeoutMs: 200, timeouts: { startMs: 10_000 } });
    h2.controllerUrl = ctl.url;
    const client = new DroverClient({ baseUrl: ctl.url, token: ctl.secrets.adminToken });
    const jobs = (await client.call('listJobs')).filter((j) => j.kind === 'ha.failover');
    expect(jobs).toHaveLength(1);
    const done = await client.waitJob(jobs[0]!.id, undefined, 20);
    expect(done.progress?.message).toMatch(/^one: restarted on h2 \(epoch 2\), running on h2; two: restarted on h2 \(epoch 2\), running on h2$/);
    const h2Id = h2.hostId;
    await eventually(async () => (await client.call('listVms')).every((v) => v.phase === 'Running'), 'both running on h2');
    expect((await client.call('listVms')).map((v) => [v.name, v.hostId, v.epoch]).sort()).toEqual([['one', h2Id, 2], ['two', h2Id, 2]]);
    expect((await h2.assignments()).vms.map((v) => [v.name, v.power, v.epoch]).sort()).toEqual([['one', 'running', 2], ['two', 'running', 2]]);
    expect((await client.call('listHosts')).find((h) => h.name === 'h1')).toMatchObject({ state: 'Fenced', failoverJobId: jobs[0]!.id });
    // The restarted controller does not declare the host dead again.
    expect((await client.call('listJobs')).filter((j) => j.kind === 'ha.failover')).toHaveLength(1);
  }, 60_000);
});
