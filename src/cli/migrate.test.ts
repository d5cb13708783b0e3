// `drover vm migrate`, `drover migration ...` and `drover host maintenance|activate`
// in-process against the fake controller.
import { beforeEach, describe, expect, it } from 'vitest';
import type { Migration } from '../api/migration.js';
import { useFakeApi, type FakeApi } from './test-support/fake-api.js';
import { run, sampleHost, sampleJob, sampleMigration, sampleVm } from './test-support/samples.js';

const MiB = 1024 ** 2;
const TRANSFERRING: Partial<Migration> = {
  state: 'transferring', result: undefined, updatedAt: '2024-01-01T00:00:01.000Z',
  progress: { transferredBytes: 100 * MiB, remainingBytes: 156 * MiB, totalBytes: 256 * MiB, dirtyRateBytes: 2 * MiB, throughputBytes: 100 * MiB, expectedDowntimeMs: 30, passes: 1, throttlePct: 0 },
};

/** getMigration answers each of `states` in turn, then the last one for ever. */
function sequence(api: FakeApi, states: Array<Partial<Migration>>): void {
  let i = 0;
  api.on('getMigration', () => sampleMigration(states[Math.min(i++, states.length - 1)]));
}

describe('drover vm migrate, migration, host maintenance', () => {
  let api: FakeApi;
  let env: Record<string, string>;
  useFakeApi((a, e) => ([api, env] = [a, e]));
  beforeEach(() => {
    api.on('migrateVm', () => ({ vm: sampleVm(), job: sampleJob({ id: 'job-7', kind: 'vm.migrate', state: 'running' }), migration: sampleMigration({ state: 'queued', result: undefined, path: [] }) }));
  });

  it('refuses bad migrate flags with exit 2, naming the flag, and sends nothing', async () => {
    const cases: Array<[string[], string]> = [
      [['--strategy', 'fast'], 'field: --strategy\n  allowed: auto, precopy, postcopy'],
      [['--max-downtime', '0'], 'field: --max-downtime\n  allowed: 1-60000'],
      [['--max-downtime', '12ms'], 'field: --max-downtime'],
      [['--bandwidth', 'lots'], 'field: --bandwidth\n  allowed: 1-100000'],
      [['--timeout', '5'], 'field: --timeout\n  allowed: 10-86400'],
      [['--to', ' '], 'field: --to'],
      [['--strategy', 'precopy', '--allow-postcopy'], 'field: --allow-postcopy'],
      [['--cancel', '--to', 'h1'], 'field: --to\n  allowed: with --cancel only --no-wait and --json'],
      [['--frobnicate'], "unknown option '--frobnicate'"],
    ];
    for (const [flags, expected] of cases) {
      const r = await run(['vm', 'migrate', 'web', ...flags], { env });
      expect(r.code, flags.join(' ')).toBe(2);
      expect(r.stderr, flags.join(' ')).toMatch(/^error: /);
      expect(r.stderr, flags.join(' ')).toContain(expected);
    }
    expect((await run(['vm', 'migrate'], { env })).code).toBe(2);
    expect(api.count()).toBe(0);
  });

  it('migrates, following the states, and prints the summary: exit 0', async () => {
    sequence(api, [TRANSFERRING, { ...TRANSFERRING, path: ['precopy', 'downtime-raised'] }, {}]);
    const r = await run(['vm', 'migrate', 'web', '--to', 'h1', '--strategy', 'auto', '--max-downtime', '200', '--bandwidth', '500', '--allow-postcopy', '--timeout', '60'], { env });
    expect(r.code, r.stderr).toBe(0);
    expect(api.requests.find((q) => q.route === 'migrateVm')).toMatchObject({
      params: { name: 'web' },
      body: { to: 'h1', strategy: 'auto', maxDowntimeMs: 200, bandwidthMiBs: 500, allowPostcopy: true, timeoutS: 60 },
    });
    expect(api.requests.filter((q) => q.route === 'getMigration').every((q) => q.params.id === 'mig-1')).toBe(true);
    expect(r.stderr).toContain('Migrating VM web h0 → h1 (migration mig-1, shared storage, strategy auto)');
    expect(r.stderr).toContain('  queued');
    expect(r.stderr).toContain('  transferring   RAM 100 MiB/256 MiB, 156 MiB left, dirty 2.0 MiB/s, sending 100.0 MiB/s, downtime ~30 ms, pass 1, throttle 0%\n');
    expect(r.stderr).toContain('  transferring   path precopy → downtime-raised\n');
    expect(r.stderr).toContain('  completed\n');
    expect(r.stdout).toBe('VM web migrated h0 → h1: completed in 3.5s, downtime 42 ms, sent 300.0 MiB (1.2 x RAM), path precopy\n');
  });

  it('prints the final migration as JSON with --json', async () => {
    sequence(api, [TRANSFERRING, {}]);
    const r = await run(['vm', 'migrate', 'web', '--json'], { env });
    expect(r.code, r.stderr).toBe(0);
    expect(api.requests.find((q) => q.route === 'migrateVm')?.body).toEqual({});
    expect(JSON.parse(r.stdout)).toEqual(sampleMigration());
  });

  it('exits 1 with the error when the migration fails', async () => {
    sequence(api, [TRANSFERRING, { state: 'failed', result: undefined, error: 'target host h1 became unreachable' }]);
    const r = await run(['vm', 'migrate', 'web'], { env });
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('Migration mig-1 of VM web (h0 → h1) failed after 4.0s, path precopy; VM web stays on h0\n');
    expect(r.stderr).toContain('error: migration mig-1 failed: target host h1 became unreachable\n');
  });

  it('returns at once with --no-wait', async () => {
    const r = await run(['vm', 'migrate', 'web', '--no-wait'], { env });
    expect(r).toMatchObject({ code: 0, stdout: 'Migration mig-1 of VM web (h0 → h1) is queued; follow it with: drover migration show mig-1\n' });
    expect(api.count('getMigration')).toBe(0);
  });

  it('--cancel calls the cancel route and waits until the migration is cancelled', async () => {
    api.on('cancelMigration', () => sampleMigration(TRANSFERRING));
    sequence(api, [{ state: 'cancelled', result: undefined, error: 'cancelled by the user' }]);
    const r = await run(['vm', 'migrate', 'web', '--cancel'], { env });
    expect(r.code, r.stderr).toBe(0);
    expect(api.requests.find((q) => q.route === 'cancelMigration')).toMatchObject({ params: { name: 'web' }, body: {} });
    expect(api.count('migrateVm')).toBe(0);
    expect(r.stdout).toBe('Migration mig-1 cancelled; VM web stays on h0\n');
  });

  it('--cancel that comes too late reports the completed migration, exit 1', async () => {
    api.on('cancelMigration', () => sampleMigration({ ...TRANSFERRING, state: 'switching-over' }));
    sequence(api, [{}]);
    const r = await run(['vm', 'migrate', 'web', '--cancel'], { env });
    expect(r.code).toBe(1);
    expect(r.stdout).toContain('VM web migrated h0 → h1: completed');
    expect(r.stderr).toContain('error: too late to cancel: migration mig-1 completed; VM web now runs on h1');
  });

  it('lists and shows migrations', async () => {
    api.on('listMigrations', () => [
      sampleMigration({ path: ['precopy', 'auto-converge'] }),
      sampleMigration({ id: 'mig-2', vm: 'db', state: 'failed', strategy: 'precopy', result: undefined, error: 'timeout' }),
    ]);
    const list = await run(['migration', 'list'], { env });
    expect(list.code, list.stderr).toBe(0);
    const lines = list.stdout.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^ID\s+VM\s+SOURCE → TARGET\s+STATE\s+STRATEGY\s+DOWNTIME\s+TOTAL TIME\s+PATH$/);
    expect(lines[1]).toMatch(/^mig-1\s+web\s+h0 → h1\s+completed\s+auto\s+42 ms\s+3\.5s\s+precopy → auto-converge$/);
    expect(lines[2]).toMatch(/^mig-2\s+db\s+h0 → h1\s+failed\s+precopy\s+-\s+4\.0s\s+precopy$/);
    api.on('listMigrations', () => []);
    expect((await run(['migration', 'ls'], { env })).stdout).toContain('No migrations yet.');

    api.on('getMigration', () => sampleMigration(TRANSFERRING));
    const show = await run(['migration', 'show', 'mig-1'], { env });
    expect(show.code, show.stderr).toBe(0);
    expect(show.stdout).toMatch(/State:\s+transferring/);
    expect(show.stdout).toMatch(/Progress:\s+RAM 100 MiB\/256 MiB, 156 MiB left/);
    expect(show.stdout).toMatch(/Options:\s+max downtime 300 ms, bandwidth unlimited, postcopy not allowed, timeout 600s/);
    expect(api.requests.find((q) => q.route === 'getMigration')?.params).toEqual({ id: 'mig-1' });
  });

  it('host maintenance waits for the job and prints where each VM went', async () => {
    api.on('hostMaintenance', () => sampleJob({ id: 'job-9', kind: 'host.maintenance', target: 'h0', state: 'running', steps: [] }));
    api.on('getJob', () => sampleJob({
      id: 'job-9', kind: 'host.maintenance', target: 'h0', steps: [{ name: 'enter', state: 'done' }, { name: 'evacuate', state: 'done' }],
      progress: { done: 1, total: 1, message: 'web: moved to h1; db: not moved, it is Stopped (only running VMs are live-migrated)' },
    }));
    const r = await run(['host', 'maintenance', 'h0'], { env });
    expect(r.code, r.stderr).toBe(0);
    expect(api.requests.find((q) => q.route === 'hostMaintenance')).toMatchObject({ params: { name: 'h0' }, body: {} });
    expect(r.stderr).toContain('Putting host h0 in maintenance (job job-9)');
    expect(r.stdout).toBe('Host h0 is in maintenance\n  web: moved to h1\n  db: not moved, it is Stopped (only running VMs are live-migrated)\n');
  });

  it('host maintenance prints the outcomes and exits 1 when a VM could not move', async () => {
    api.on('hostMaintenance', () => sampleJob({ id: 'job-9', kind: 'host.maintenance', target: 'h0', state: 'running', steps: [] }));
    api.on('getJob', () => sampleJob({
      id: 'job-9', kind: 'host.maintenance', target: 'h0', state: 'failed', steps: [{ name: 'enter', state: 'done' }, { name: 'evacuate', state: 'failed' }],
      progress: { done: 2, total: 2, message: 'web: moved to h1; big: not moved, migration failed: no host can take it' },
      error: { code: 'conflict', message: 'the host is in Maintenance but 1 VM(s) are still on it: big: not moved, migration failed: no host can take it' },
    }));
    const r = await run(['host', 'maintenance', 'h0'], { env });
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('  web: moved to h1\n  big: not moved, migration failed: no host can take it\n');
    expect(r.stderr).toContain('error: 1 VM(s) could not be moved off host h0; it stays in maintenance');
  });

  it('host activate makes the host Ready', async () => {
    api.on('hostActivate', () => sampleHost());
    const r = await run(['host', 'activate', 'h0'], { env });
    expect(r).toMatchObject({ code: 0, stdout: 'Host h0 is Ready\n' });
    expect(api.requests.find((q) => q.route === 'hostActivate')).toMatchObject({ params: { name: 'h0' }, body: {} });
  });
});
