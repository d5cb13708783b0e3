// The pool with two real hosts and one real guest: the pool's numbers and the
// hosts' usage follow the VM; a host without VMs is removed, turns Left, and
// its (still running) agent is refused from then on, its re-join included.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DroverClient } from '../src/api/client.js';
import type { Host } from '../src/api/resources.js';
import { startCluster, waitFor, type Cluster } from './harness.js';

let c: Cluster;

beforeAll(async () => {
  c = await startCluster({ agents: 2 });
}, 180_000);

afterAll(async () => {
  await c?.stop();
});

const byName = (hosts: Host[], name: string): Host => {
  const h = hosts.find((x) => x.name === name);
  if (!h) throw new Error(`no host ${name} in ${hosts.map((x) => x.name).join(', ')}`);
  return h;
};
const sum = (hosts: Host[], f: (h: Host) => number) => hosts.reduce((s, h) => s + f(h), 0);

describe('the pool of two hosts', () => {
  it('counts one running VM on its host and in the pool', async () => {
    await c.client.call('createVm', { body: { name: 'pooled', image: 'tiny', host: 'h0', cpus: 1, memoryMiB: 256 } });
    await waitFor(async () => (await c.client.call('getVm', { params: { name: 'pooled' } })).phase === 'Running', 90_000, 'pooled running');
    const hosts = await c.client.call('listHosts');
    const pool = await c.client.call('getPool');
    const cpus = sum(hosts, (h) => h.inventory?.cpus ?? 0);
    const memory = sum(hosts, (h) => h.inventory?.memoryMiB ?? 0);
    expect(pool.hosts).toEqual({ total: 2, schedulable: 2, byState: { Joining: 0, Ready: 2, Unreachable: 0, Maintenance: 0, Standby: 0, Left: 0, Fenced: 0, Recovering: 0 } });
    expect(pool.cpus).toEqual({ total: cpus, reserved: 0, used: 1, free: Math.max(0, cpus - 1) });
    expect(pool.memoryMiB).toEqual({ total: memory, reserved: 0, used: 256, free: memory - 256 });
    expect(pool.vms).toEqual({ total: 1, active: 1, activeOutsidePool: 0 });
    expect(byName(hosts, 'h0').usage).toEqual({ cpus: 1, memoryMiB: 256, vms: 1, activeVms: 1 });
    expect(byName(hosts, 'h1').usage).toEqual({ cpus: 0, memoryMiB: 0, vms: 0, activeVms: 0 });
  });

  it('refuses to remove the host of the VM, naming it', async () => {
    await expect(c.client.call('removeHost', { params: { name: 'h0' } })).rejects.toMatchObject({ code: 'conflict', message: expect.stringContaining('pooled (Running)') });
    expect(byName(await c.client.call('listHosts'), 'h0').state).toBe('Ready');
  });

  it('removes the host without VMs: Left, out of the pool, its agent refused', async () => {
    expect(await c.client.call('removeHost', { params: { name: 'h1' } })).toMatchObject({ name: 'h1', state: 'Left' });
    const pool = await c.client.call('getPool');
    expect(pool.hosts).toMatchObject({ total: 2, schedulable: 1, byState: { Ready: 1, Left: 1 } });
    expect(pool.memoryMiB.used).toBe(256);
    expect(pool.memoryMiB.total).toBe(byName(await c.client.call('listHosts'), 'h0').inventory?.memoryMiB);

    // The credential the agent keeps no longer works.
    const { credential } = JSON.parse(readFileSync(join(c.agentDir(1), 'host.json'), 'utf8')) as { credential: string };
    const asAgent = new DroverClient({ baseUrl: c.url, token: credential });
    await expect(asAgent.call('agentAssignments')).rejects.toMatchObject({ code: 'unauthorized' });
    // The agent, refused, tries to join again with its join token: refused too (once its pending long poll ends).
    await waitFor(() => c.agents[1]?.output().includes('was removed from the pool'), 60_000, 'the agent told its re-join is refused');
    expect(byName(await c.client.call('listHosts'), 'h1').state).toBe('Left');
    expect((await c.client.call('getVm', { params: { name: 'pooled' } })).phase).toBe('Running');
  });
});
