// A controller killed (SIGKILL) in the middle of a failover, right after it
// committed the restart of the first of two HA VMs, finishes the failover
// after it starts again, and restarts each VM exactly once: one epoch more,
// never two. The two VMs are on two hosts that die together: one job
// restarts both (should their last renewals fall into two polls after all,
// two jobs do, and each VM still restarts exactly once). Real controller
// process, real SQLite, fake agents, lease records written by the test.
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
  const [h1, h2, h3] = [new FakeAgent(''), new FakeAgent(''), new FakeAgent('')];
  const leases: LeaseWriter[] = [];
  let child: ReturnType<typeof spawn> | undefined;
  let ctl: RunningController | undefined;
  afterAll(async () => {
    if (child && child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    for (const l of leases) l.stop();
    for (const a of [h1, h2, h3]) await a.stop();
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
    for (const [a, name] of [[h1, 'h1'], [h2, 'h2'], [h3, 'h3']] as const) {
      a.controllerUrl = url;
      a.inventory = sharedInventory(pool);
      await a.start();
      await a.join(joinToken, name);
      await a.report();
      a.converge();
      a.heartbeat(100);
      leases.push(new LeaseWriter(pool, a.hostId).start(50));
    }
    for (const [name, host, haPriority] of [['one', 'h1', 2], ['two', 'h2', 1]] as const) {
      const { job } = await admin.call('createVm', { body: { name, image: 'tiny', host, storage: 'shared', ha: true, haPriority } });
      await admin.waitJob(job.id, undefined, 20);
    }
    const epochs = Object.fromEntries((await admin.call('listVms')).map((v) => [v.name, v.epoch]));
    expect(epochs).toEqual({ one: 1, two: 1 });

    for (const [i, a] of [h1, h2].entries()) {
      a.silence();
      leases[i]!.stop();
      leases[i]!.renew(); // the last renewal of both, at the same moment
    }
    expect(await exited).toBe('SIGKILL'); // right after the restart of `one` was committed

    ctl = await startController({ stateDir, port: 0, log: pino({ level: 'silent' }), sharedPoolDir: pool, haIoTimeoutMs: 200, timeouts: { startMs: 10_000 } });
    h3.controllerUrl = ctl.url;
    const client = new DroverClient({ baseUrl: ctl.url, token: ctl.secrets.adminToken });
    const h3Id = h3.hostId;
    const jobs = await eventually(async () => {
      const all = (await client.call('listJobs')).filter((j) => j.kind === 'ha.failover');
      const vms = await client.call('listVms');
      return vms.every((v) => v.hostId === h3Id && v.phase === 'Running') && all.every((j) => j.state !== 'running') ? all : undefined;
    }, 'both VMs running on h3, the failover over', 20_000);
    expect((await client.call('listVms')).map((v) => [v.name, v.hostId, v.epoch]).sort()).toEqual([['one', h3Id, 2], ['two', h3Id, 2]]);
    expect((await h3.assignments()).vms.map((v) => [v.name, v.power, v.epoch]).sort()).toEqual([['one', 'running', 2], ['two', 'running', 2]]);
    if (jobs.length === 1) {
      expect(jobs[0]!.progress?.message).toMatch(/^one \(from h1\): restarted on h3 \(epoch 2\), running on h3; two \(from h2\): restarted on h3 \(epoch 2\), running on h3$/);
      expect((await client.call('listHosts')).filter((h) => h.state === 'Fenced').map((h) => [h.name, h.failoverJobId]).sort()).toEqual([['h1', jobs[0]!.id], ['h2', jobs[0]!.id]]);
    } else {
      expect(jobs).toHaveLength(2); // the rare split: one job per host
    }
    // The restarted controller does not declare the hosts dead again.
    await new Promise((r) => setTimeout(r, 500));
    expect((await client.call('listJobs')).filter((j) => j.kind === 'ha.failover')).toHaveLength(jobs.length);
  }, 60_000);
});
