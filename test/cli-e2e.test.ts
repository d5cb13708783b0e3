// The drover CLI end to end, as a user types it, against a real cluster.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { drover } from './cli.js';
import { freePort, guestInfo, startCluster, waitFor, type Cluster } from './harness.js';

describe('drover CLI', () => {
  let c: Cluster;
  let port: number;
  const run = (...args: string[]) => drover(c.url, c.token, args);

  beforeAll(async () => {
    c = await startCluster();
    port = await freePort();
  });
  afterAll(async () => {
    await c?.stop();
  });

  it('creates a VM and tells how to reach it', async () => {
    const r = await run('vm', 'create', 'web', '--image', 'tiny', '--cpus', '1', '--memory', '256', '--disk', '64M', '--port', `${port}:80`);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain(`127.0.0.1:${port}`);
    expect((await waitFor(() => guestInfo(port), 60_000, 'guest')).hostname).toBe('web');
  });

  it('lists as a table and as JSON', async () => {
    const table = await run('vm', 'list');
    expect(table.code).toBe(0);
    expect(table.stdout).toMatch(/web\s.*Running/);
    const json = await run('vm', 'list', '--json');
    const vms = JSON.parse(json.stdout) as Array<{ name: string; phase: string }>;
    expect(vms.map((v) => [v.name, v.phase])).toEqual([['web', 'Running']]);
    const hosts = await run('host', 'list');
    expect(hosts.stdout).toMatch(/h0\s.*Ready/);
    const images = await run('image', 'list', '--json');
    expect((JSON.parse(images.stdout) as Array<{ name: string }>).map((i) => i.name)).toContain('tiny');
  });

  it('shows the serial log with the readiness marker', async () => {
    const r = await waitFor(async () => {
      const l = await run('vm', 'logs', 'web');
      return l.stdout.includes('DROVER-READY') ? l : null;
    }, 30_000, 'DROVER-READY in logs');
    expect(r.code).toBe(0);
  });

  it('talks to the guest shell over the serial console and detaches with Ctrl-]', async () => {
    // Input is piped (no TTY): after the detach key the CLI waits for the output to go quiet.
    const r = await drover(c.url, c.token, ['vm', 'console', 'web'], '\necho $((6*7))drover\n\x1d');
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('42drover');
  });

  it('stops, starts and deletes by CLI', async () => {
    expect((await run('vm', 'stop', 'web', '--force')).code).toBe(0);
    expect(JSON.parse((await run('vm', 'show', 'web', '--json')).stdout).phase).toBe('Stopped');
    expect((await run('vm', 'start', 'web')).code).toBe(0);
    expect(JSON.parse((await run('vm', 'show', 'web', '--json')).stdout).phase).toBe('Running');
    expect((await run('vm', 'delete', 'web')).code).toBe(0);
    expect(JSON.parse((await run('vm', 'list', '--json')).stdout)).toEqual([]);
    expect(c.qemuPids()).toEqual([]);
  });
});
