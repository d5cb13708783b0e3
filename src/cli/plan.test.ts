// `drover plan` (offline, from a snapshot file: no controller) and
// `drover snapshot` (through the API), in-process.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ClusterSnapshot, Plan } from '../core/planner/index.js';
import { FakeApi } from './test-support/fake-api.js';
import { run } from './test-support/samples.js';

const cluster: ClusterSnapshot = {
  nowMs: 0,
  hosts: [
    { id: 'h1', cpus: 8, memoryMiB: 16384, state: 'ready' },
    { id: 'h2', name: 'beta', cpus: 8, memoryMiB: 16384, state: 'ready' },
    { id: 'h3', cpus: 8, memoryMiB: 16384, state: 'maintenance' },
  ],
  vms: [
    { id: 'a', cpus: 2, memoryMiB: 4096, host: 'h1' },
    { id: 'b', cpus: 2, memoryMiB: 4096, host: 'h1' },
    { id: 'new', cpus: 2, memoryMiB: 4096, host: null },
    { id: 'huge', cpus: 2, memoryMiB: 65536, host: null },
  ],
  policy: { failures: 0 },
};

describe('drover plan (offline) and drover snapshot', () => {
  let dir: string;
  const file = (name: string, content: unknown) => {
    writeFileSync(join(dir, name), typeof content === 'string' ? content : JSON.stringify(content));
    return name;
  };
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'drover-plan-'));
    file('cluster.json', cluster);
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  // No DROVER_URL and no config: any API call would fail, so these prove plan needs no controller.
  const offline = (argv: string[]) => run(argv, { cwd: dir, env: {} });

  it('prints the plan as a table, with what it could not place and the metrics', async () => {
    const r = await offline(['plan', '--snapshot', 'cluster.json', '--goal', 'place']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^Plan: place: 1 action\(s\)\nWAVE\s+ACTION\s+VM\s+FROM\s+TO\n0\s+place\s+new\s+-\s+h2\n/);
    expect(r.stdout).toContain('Not placed or not moved: 1 VM(s)\n  huge: memory on 2 host(s); host-state on 1 host(s)\n');
    expect(r.stdout).toMatch(/Metrics: placed=1 unplaced=1 /);
  });

  it('prints the Plan object with --json', async () => {
    const r = await offline(['plan', '--snapshot', 'cluster.json', '--goal', 'evacuate:h1', '--json']);
    expect(r.code, r.stderr).toBe(0);
    const p = JSON.parse(r.stdout) as Plan;
    expect(p.goal).toEqual({ evacuate: 'h1' });
    expect(p.actions.map((a) => a.action)).toEqual([
      { kind: 'migrate', vm: 'a', from: 'h1', to: 'h2' },
      { kind: 'migrate', vm: 'b', from: 'h1', to: 'h2' },
    ]);
  });

  it('explains each action and each unplaced VM per host class', async () => {
    const r = await offline(['plan', '--snapshot', 'cluster.json', '--goal', 'place', '--explain']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('1. place new -> h2 (wave 0)\n   spread: beta is the host with the most room, left least loaded\n   score 0 -> 0.25  memoryMiB=4096');
    expect(r.stdout).toContain('  huge\n    memory (2 host(s): h1, h2): needs 65536 MiB; these hosts have at most 16384 MiB free (memory overcommit x1)\n    host-state (1 host(s): h3): host is maintenance, only ready hosts take VMs\n');
  });

  it('accepts a host name in evacuate:HOST and plans balance and consolidate', async () => {
    expect((await offline(['plan', '--snapshot', 'cluster.json', '--goal', 'evacuate:beta'])).code).toBe(0);
    const b = await offline(['plan', '--snapshot', 'cluster.json', '--goal', 'balance']);
    expect(b.stdout).toMatch(/^Plan: balance: \d+ action\(s\), automation recommend/);
    const c = await offline(['plan', '--snapshot', 'cluster.json', '--goal', 'consolidate']);
    expect(c.stdout).toContain('standby');
  });

  it('refuses a bad snapshot naming the field, exit 2', async () => {
    const bad = { ...cluster, hosts: [...cluster.hosts.slice(0, 3), { id: 'h4', cpus: 8, memoryMiB: -1, state: 'ready' }] };
    const r = await offline(['plan', '--snapshot', file('bad.json', bad), '--goal', 'place']);
    expect(r.code).toBe(2);
    expect(r.stderr).toBe('error: snapshot bad.json: hosts[3].memoryMiB must be a positive integer\n  field: hosts[3].memoryMiB\n');
    const notJson = await offline(['plan', '--snapshot', file('x.json', '{ nope'), '--goal', 'place']);
    expect(notJson.code).toBe(2);
    expect(notJson.stderr).toMatch(/^error: snapshot x.json is not JSON: /);
    const missing = await offline(['plan', '--snapshot', 'missing.json', '--goal', 'place']);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain('cannot read snapshot missing.json');
  });

  it('refuses an unknown goal or host, exit 2', async () => {
    const goal = await offline(['plan', '--snapshot', 'cluster.json', '--goal', 'shuffle']);
    expect(goal.code).toBe(2);
    expect(goal.stderr).toBe('error: unknown goal "shuffle"\n  field: --goal\n  allowed: place, balance, consolidate, grow, ha-restart or evacuate:HOST\n');
    const host = await offline(['plan', '--snapshot', 'cluster.json', '--goal', 'evacuate:h9']);
    expect(host.code).toBe(2);
    expect(host.stderr).toContain('the snapshot has no host "h9"');
    expect((await offline(['plan', '--goal', 'place'])).code).toBe(2);
  });

  describe('drover snapshot', () => {
    let api: FakeApi;
    // What GET /v1/snapshot answers (the controller builds it: src/controller/cluster-snapshot.ts).
    const live: ClusterSnapshot = {
      nowMs: 1_767_225_600_000,
      hosts: [{ id: 'host-1', name: 'h0', cpus: 2, memoryMiB: 24576, state: 'ready' }, { id: 'host-2', name: 'h1', cpus: 2, memoryMiB: 24576, state: 'maintenance' }],
      vms: [
        { id: 'vm-1', name: 'web', cpus: 2, memoryMiB: 256, host: 'host-1', memoryUsageMiB: 100, cpuUsage: 0.5 },
        { id: 'vm-2', name: 'db', cpus: 2, memoryMiB: 256, host: 'host-3' },
      ],
      policy: { balance: { maxMoves: 8, automation: 'recommend' }, migrationsPerHost: 2 },
    };
    beforeAll(async () => {
      api = await new FakeApi().start();
      api.on('getSnapshot', () => live);
    });
    afterAll(() => api.stop());

    it('writes the controller\'s snapshot in one call; plan reads it', async () => {
      const env = { DROVER_URL: api.url, DROVER_TOKEN: api.token };
      const r = await run(['snapshot', '--out', 'live.json'], { cwd: dir, env });
      expect(r.code, r.stderr).toBe(0);
      expect(r.stdout).toBe('Wrote live.json: 2 host(s), 2 VM(s)\n');
      expect(api.requests.map((q) => q.route)).toEqual(['getSnapshot']);
      expect(JSON.parse(readFileSync(join(dir, 'live.json'), 'utf8'))).toEqual(live);
      const p = await run(['plan', '--snapshot', 'live.json', '--goal', 'ha-restart', '--json'], { cwd: dir, env: {} });
      expect((JSON.parse(p.stdout) as Plan).unplaced.map((u) => [u.vm, u.reasons[0]!.constraint])).toEqual([['vm-2', 'not-ha']]);
      const out = await run(['snapshot', '--json'], { cwd: dir, env });
      expect(JSON.parse(out.stdout) as ClusterSnapshot).toEqual(live);
    });
  });
});
