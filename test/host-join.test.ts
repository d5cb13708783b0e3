// `drover host join` adds this machine as one more host: it starts an agent
// that joins with the join token, and the pool grows by one Ready host.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { drover } from './cli.js';
import { isAlive, killPid, startCluster, waitFor, type Cluster } from './harness.js';

let c: Cluster;
let joinedPid = 0;

beforeAll(async () => {
  c = await startCluster({ agents: 1 });
}, 120_000);

afterAll(async () => {
  if (joinedPid) killPid(joinedPid);
  await c?.stop();
});

describe('drover host join', () => {
  it('prints the join token to an admin', async () => {
    const r = await drover(c.url, c.token, ['host', 'join-token', '--json']);
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout).token).toBe(readFileSync(join(c.home, 'controller', 'join-token'), 'utf8').trim());
  });

  it('starts an agent here that joins the pool as a Ready host', async () => {
    const dir = join(c.home, 'agents', 'extra');
    const r = await drover(c.url, c.token, ['host', 'join', 'extra', '--state-dir', dir, '--forward-address', '127.0.1.9', '--shared-pool', c.sharedDir]);
    expect(r.code, r.stderr + r.stdout).toBe(0);
    expect(r.stdout).toMatch(/Host extra joined .* is Ready/);
    joinedPid = Number(readFileSync(join(dir, 'agent.pid'), 'utf8'));
    expect(isAlive(joinedPid)).toBe(true);
    const hosts = await c.client.call('listHosts');
    const extra = hosts.find((h) => h.name === 'extra');
    expect(extra?.state).toBe('Ready');
    expect(extra?.inventory?.forwardAddress).toBe('127.0.1.9');
    expect(extra?.inventory?.sharedPool?.id).toBe(hosts.find((h) => h.name === 'h0')?.inventory?.sharedPool?.id);
    const pool = await c.client.call('getPool');
    expect(pool.hosts.byState.Ready).toBe(2);
  });

  it('refuses a second agent under the same name, and a bad name, changing nothing', async () => {
    const dir = join(c.home, 'agents', 'extra');
    const again = await drover(c.url, c.token, ['host', 'join', 'extra', '--state-dir', dir]);
    expect(again.code).toBe(2);
    expect(again.stderr).toMatch(/already runs here/);
    const bad = await drover(c.url, c.token, ['host', 'join', 'Bad_Name']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/NAME/);
    await waitFor(async () => (await c.client.call('listHosts')).length === 2, 5000, 'still two hosts');
  });
});
