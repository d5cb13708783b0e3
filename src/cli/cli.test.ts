// The commands in-process against a fake controller that counts requests.
import { beforeEach, describe, expect, it } from 'vitest';
import { routes } from '../api/routes.js';
import { reply, FakeApi, useFakeApi } from './test-support/fake-api.js';
import { run, sampleHost, sampleImage, sampleJob, sampleVm } from './test-support/samples.js';

describe('drover commands against a fake controller', () => {
  let api: FakeApi;
  let env: Record<string, string>;
  useFakeApi((a, e) => ([api, env] = [a, e]));
  beforeEach(() => {
    api.on('listGroups', () => []).on('listHosts', () => [sampleHost()]).on('listVms', () => [sampleVm(), sampleVm({ id: 'vm-2', name: 'db', phase: 'Stopped', hostId: null, spec: { ...sampleVm().spec, ports: [] } })]);
  });

  it('lists VMs as a table and as compact JSON', async () => {
    const table = await run(['vm', 'list'], { env });
    expect(table).toMatchObject({ code: 0, stderr: '' });
    const lines = table.stdout.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^NAME\s+PHASE\s+HOST\s+CPUS\s+MEMORY\s+PORTS\s+AGE$/);
    expect(lines[1]).toMatch(/^web\s+Running\s+h0\s+2\s+256 MiB\s+8080->80\s+\d+d$/);
    expect(lines[2]).toMatch(/^db\s+Stopped\s+-\s+2/);
    const json = await run(['vm', 'list', '--json'], { env });
    expect(json.code).toBe(0);
    expect(JSON.parse(json.stdout)).toEqual([sampleVm(), expect.objectContaining({ name: 'db' })]);
    expect(json.stdout).toContain('"phase":"Running"'); // scripts grep the compact form
    expect(api.requests.every((r) => r.authorization === `Bearer ${api.token}`)).toBe(true);
  });

  it('prints an API error with its field and allowed values, exit 1', async () => {
    api.on('createVm', () => reply(400, { error: { code: 'invalid', message: 'image "nope" does not exist', field: 'image', allowed: 'tiny' } }));
    const r = await run(['vm', 'create', 'web', '--image', 'nope', '--no-wait'], { env });
    expect(r.code).toBe(1);
    expect(r.stderr).toBe('error: image "nope" does not exist\n  field: image\n  allowed: tiny\n');
    expect(r.stdout).toBe('');
  });

  it('refuses bad input with exit 2 and sends nothing', async () => {
    for (const argv of [
      ['vm', 'create', 'web', '--memory', '12X'],
      ['vm', 'create', 'web', '--port', '8080'],
      ['vm', 'create', 'Bad_Name'],
      ['vm', 'logs', 'web', '--bytes', '0'],
      ['image', 'build', 'huge'],
      ['image', 'import', 'd', '--kernel', 'k'],
      ['vm', 'frobnicate'],
      ['vm', 'create'],
      ['vm', 'list', '--no-such-flag'],
    ]) {
      const r = await run(argv, { env });
      expect(r.code, argv.join(' ')).toBe(2);
      expect(r.stderr, argv.join(' ')).toMatch(/^error: /m);
    }
    const r = await run(['vm', 'create', 'web', '--port', '8080'], { env });
    expect(r.stderr).toContain('  field: --port\n  allowed: HOST:GUEST');
    expect(api.count()).toBe(0);
  });

  it('says how to configure when no controller is configured', async () => {
    const r = await run(['vm', 'list'], { env: {} });
    expect(r).toMatchObject({ code: 2, stderr: 'error: no controller configured: run `npm run up`, or set DROVER_URL and DROVER_TOKEN\n' });
  });

  it('hints at the token when the controller refuses it', async () => {
    const r = await run(['vm', 'list'], { env: { ...env, DROVER_TOKEN: 'wrong' } });
    expect(r.code).toBe(1);
    expect(r.stderr).toBe('error: bad token\n  hint: check --token, DROVER_TOKEN or ~/.config/drover/config.json (`npm run up` rewrites it)\n');
  });

  it('reports an unreachable controller as an error, exit 1', async () => {
    const r = await run(['host', 'list'], { env: { DROVER_URL: 'http://127.0.0.1:1', DROVER_TOKEN: 't' } });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('cannot reach the Drover controller at http://127.0.0.1:1');
  });

  it('creates a VM, waits for its job showing the steps, and tells how to reach it', async () => {
    api.on('createVm', () => ({ vm: sampleVm({ phase: 'Pending' }), job: sampleJob({ state: 'running', steps: [] }) }));
    let polls = 0;
    api.on('getJob', () => (++polls < 2 ? sampleJob({ state: 'running', steps: [{ name: 'record', state: 'running' }] }) : sampleJob()));
    api.on('getVm', () => sampleVm());
    const r = await run(['vm', 'create', 'web', '--cpus', '2', '--memory', '1G', '--disk', '1', '--port', '8080:80', '--port', '127.0.0.1:5353:53/udp'], { env });
    expect(r.code, r.stderr).toBe(0);
    expect(api.requests.find((q) => q.route === 'createVm')?.body).toEqual({
      name: 'web', image: 'tiny', start: true, cpus: 2, memoryMiB: 1024, diskBytes: 1024 ** 3,
      ports: [{ hostPort: 8080, guestPort: 80, proto: 'tcp' }, { hostAddress: '127.0.0.1', hostPort: 5353, guestPort: 53, proto: 'udp' }],
    });
    expect(r.stderr).toMatch(/Creating VM web \(job job-1\)\n {2}✓ record +0\.0s\n {2}✓ volumes/);
    expect(r.stdout).toContain('VM web is Running');
    expect(r.stdout).toContain('http://127.0.0.1:8080/');
  });

  it('fails with the job error when the job fails', async () => {
    api.on('stopVm', () => ({ vm: sampleVm(), job: sampleJob({ id: 'job-2', kind: 'vm.stop', state: 'running', steps: [] }) }));
    api.on('getJob', () => sampleJob({ id: 'job-2', state: 'failed', steps: [{ name: 'stop', state: 'failed', message: 'agent unreachable' }], error: { code: 'unavailable', message: 'host h0 is unreachable' } }));
    const r = await run(['vm', 'stop', 'web', '--force'], { env });
    expect(r.code).toBe(1);
    expect(api.requests.find((q) => q.route === 'stopVm')).toMatchObject({ params: { name: 'web' }, body: { force: true } });
    expect(r.stderr).toContain('✗ stop');
    expect(r.stderr).toContain('error: host h0 is unreachable');
  });

  it('runs the power operations and prints the resulting phase', async () => {
    api.on('getJob', () => sampleJob({ kind: 'vm.pause' }));
    api.on('pauseVm', () => ({ vm: sampleVm(), job: sampleJob({ state: 'running' }) }));
    api.on('getVm', () => sampleVm({ phase: 'Paused' }));
    const paused = await run(['vm', 'pause', 'web'], { env });
    expect(paused).toMatchObject({ code: 0, stdout: 'VM web is Paused\n' });
    api.on('deleteVm', () => ({ vm: sampleVm(), job: sampleJob({ state: 'running' }) }));
    expect(await run(['vm', 'delete', 'web'], { env })).toMatchObject({ code: 0, stdout: 'VM web deleted\n' });
    const noWait = await run(['vm', 'delete', 'web', '--no-wait', '--json'], { env });
    expect(JSON.parse(noWait.stdout)).toMatchObject({ vm: { name: 'web' }, job: { id: 'job-1' } });
    expect(api.requests.filter((q) => q.route === 'deleteVm').map((q) => q.path)).toEqual([routes.deleteVm.path.replace(':name', 'web'), routes.deleteVm.path.replace(':name', 'web')]);
  });

  it('shows a VM with ports, volumes, stats and reason', async () => {
    api.on('getVm', () => sampleVm({ phase: 'Failed', reason: 'qemu exited with status 1', stats: { cpuSeconds: 3.25, rssBytes: 200 * 1024 ** 2 } }));
    api.on('listVolumes', () => [{ id: 'vol-1', vmId: 'vm-1', hostId: 'host-1', pool: 'local', role: 'boot', path: '/p/vol-1.qcow2', format: 'qcow2', virtualSizeBytes: 1024 ** 3, actualSizeBytes: 2 * 1024 ** 2 }]);
    const r = await run(['vm', 'show', 'web'], { env });
    expect(r.code, r.stderr).toBe(0);
    for (const text of ['Phase:', 'Failed', 'Reason:', 'qemu exited with status 1', 'Host:', 'h0 (host-1)', '127.0.0.1:8080', 'http://127.0.0.1:8080/', 'vol-1', '/p/vol-1.qcow2', '2 MiB', 'cpu time 3.3s', 'rss 200 MiB']) {
      expect(r.stdout).toContain(text);
    }
  });

  it('lists hosts, images and jobs, and shows a job', async () => {
    api.on('listImages', () => [sampleImage()]).on('listJobs', () => [sampleJob()]).on('getJob', () => sampleJob());
    expect((await run(['host', 'list'], { env })).stdout).toMatch(/h0\s+Ready\s+2\s+24 GiB\s+none\s+no \(TCG\)/);
    expect((await run(['image', 'list'], { env })).stdout).toMatch(/tiny\s+kernel\s+built\s+30 MiB\s+-\s+6\.1\.0-cloud\s+1/);
    expect((await run(['job', 'list'], { env })).stdout).toMatch(/job-1\s+vm\.create\s+web\s+succeeded\s+running \(done\)/);
    const show = await run(['job', 'show', 'job-1'], { env });
    expect(show.stdout).toMatch(/State:\s+succeeded/);
    expect(show.stdout).toMatch(/volumes\s+done\s+0\.0s/);
    expect(api.requests.find((q) => q.route === 'getJob')?.params).toEqual({ id: 'job-1' });
  });

  it('builds an image showing progress, and imports with absolute paths', async () => {
    api.on('buildImage', () => sampleJob({ kind: 'image.build', target: 'tiny', state: 'running', steps: [] }));
    let polls = 0;
    api.on('getJob', () => (++polls < 3
      ? sampleJob({ kind: 'image.build', target: 'tiny', state: 'running', steps: [{ name: 'build', state: 'running' }], progress: { done: polls, total: 3, message: 'kernel' } })
      : sampleJob({ kind: 'image.build', target: 'tiny', steps: [{ name: 'build', state: 'done' }], progress: { done: 3, total: 3 } })));
    api.on('listImages', () => [sampleImage()]);
    const build = await run(['image', 'build', '--force'], { env });
    expect(build.code, build.stderr).toBe(0);
    expect(api.requests.find((q) => q.route === 'buildImage')?.body).toEqual({ name: 'tiny', force: true });
    expect(build.stderr).toContain('build        1/3  kernel');
    expect(build.stdout).toContain('Image tiny is ready on 1 host(s)');

    api.on('importImage', () => sampleJob({ kind: 'image.import', target: 'mine', state: 'running' }));
    const imp = await run(['image', 'import', 'mine', '--file', 'disk.qcow2', '--no-wait'], { env, cwd: '/home/user' });
    expect(imp.code, imp.stderr).toBe(0);
    expect(api.requests.find((q) => q.route === 'importImage')?.body).toEqual({ name: 'mine', file: '/home/user/disk.qcow2' });
  });

  it('prints the serial log tail', async () => {
    api.on('vmLogs', (q) => ({ text: `tail of ${q.params.name} (${q.query.bytes})\nDROVER-READY\n` }));
    const r = await run(['vm', 'logs', 'web', '--bytes', '100'], { env });
    expect(r).toMatchObject({ code: 0, stdout: 'tail of web (100)\nDROVER-READY\n' });
  });

  it('prints help and the version with exit 0', async () => {
    const help = await run(['--help'], { env });
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('Usage: drover');
    expect((await run(['vm', 'create', '--help'], { env })).stdout).toContain('--port <fwd>');
    expect((await run(['--version'], { env })).code).toBe(0);
    expect(api.count()).toBe(0);
  });
});
