// HA failover with real agents, fencers and QEMU guests: a host is killed
// outright (its agent, its fencer and its QEMUs: a power loss), and its HA VM
// runs again on the other host, never twice, with what it wrote to its disk.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort, guestGet, guestInfo, killHost, qemusOf, startCluster, waitFor, type Cluster } from './harness.js';

let c: Cluster;

beforeAll(async () => {
  c = await startCluster({ agents: 2 });
}, 180_000);

afterAll(async () => {
  await c?.stop();
});

async function hostIds(): Promise<string[]> {
  const hosts = await c.client.call('listHosts');
  return ['h0', 'h1'].map((n) => hosts.find((h) => h.name === n)!.id);
}

describe('a host is killed outright', () => {
  it('its HA VM runs again on the other host, never twice, with its disk data; the returning host does not run it', async () => {
    const name = 'ha-web';
    const port = await freePort();
    await c.client.call('createVm', { body: { name, image: 'tiny', host: 'h0', memoryMiB: 256, diskBytes: 64 * 1048576, storage: 'shared', ha: true, ports: [{ hostPort: port, guestPort: 80 }] } });
    const vm = await waitFor(async () => {
      const v = await c.client.call('getVm', { params: { name } });
      return v.phase === 'Running' && v.guestReadyAt ? v : undefined;
    }, 90_000, `${name} running`);
    const [h0, h1] = await hostIds();
    expect(vm.hostId).toBe(h0);
    const before = await waitFor(() => guestInfo(port), 30_000, 'guest /info');
    const stamp = 5000 + Math.floor(Math.random() * 1000);
    expect((await guestGet(port, `/counter?value=${stamp}`)).status).toBe(200);

    // The invariant, watched the whole time: never two QEMUs of the VM.
    let most = 0;
    const watch = setInterval(() => (most = Math.max(most, qemusOf(c.home, vm.id).length)), 100);
    try {
      await killHost(c, 0);
      const moved = await waitFor(async () => {
        const v = await c.client.call('getVm', { params: { name } });
        return v.hostId === h1 && v.phase === 'Running' ? v : undefined;
      }, 120_000, 'the VM restarted on h1');
      expect(moved.epoch).toBeGreaterThan(vm.epoch);
      const after = await waitFor(() => guestInfo(port, c.forwardAddress(1)).catch(() => undefined), 60_000, 'guest answers on h1');
      // A restart, not a migration: a new boot, and what it fsynced before is on its disk.
      expect(after.bootId).not.toBe(before.bootId);
      expect((await guestGet(port, '/counter', 3000, c.forwardAddress(1))).json).toMatchObject({ value: stamp });
      expect((await c.client.call('listHosts')).find((h) => h.id === h0)?.state).toBe('Fenced');

      // The host comes back: it does not start the VM again; it turns Ready once it runs none of the moved VMs.
      await c.startAgent(0);
      await waitFor(async () => (await c.client.call('listHosts')).find((h) => h.id === h0)?.state === 'Ready', 90_000, 'h0 Ready again');
      expect((await c.client.call('getVm', { params: { name } })).hostId).toBe(h1);
      expect(qemusOf(c.home, vm.id)).toHaveLength(1);
    } finally {
      clearInterval(watch);
    }
    expect(most).toBe(1);
    await c.client.waitJob((await c.client.call('deleteVm', { params: { name } })).job.id);
  }, 400_000);
});

describe('an agent frozen longer than the lease timeout', () => {
  it('its fencer kills the HA QEMU before the VM runs elsewhere; after SIGCONT nothing runs twice', async () => {
    const name = 'ha-frozen';
    const port = await freePort();
    const [h0, h1] = await hostIds();
    // It starts where the first case left the cluster: h1 runs nothing, h0 is Ready again.
    await c.client.call('createVm', { body: { name, image: 'tiny', host: 'h1', memoryMiB: 256, storage: 'shared', ha: true, ports: [{ hostPort: port, guestPort: 80 }] } });
    const vm = await waitFor(async () => {
      const v = await c.client.call('getVm', { params: { name } });
      return v.phase === 'Running' && v.guestReadyAt ? v : undefined;
    }, 90_000, `${name} running`);
    expect(vm.hostId).toBe(h1);
    const before = await waitFor(() => guestInfo(port, c.forwardAddress(1)), 30_000, 'guest /info');
    const [frozenQemu] = qemusOf(c.home, vm.id);
    expect(frozenQemu).toBeGreaterThan(0);

    let most = 0;
    const watch = setInterval(() => (most = Math.max(most, qemusOf(c.home, vm.id).length)), 100);
    const agent = c.agents[1]!;
    try {
      agent.child.kill('SIGSTOP');
      // The fencer (its own process) stops renewing without pings and kills the QEMU; only then does the VM move.
      const moved = await waitFor(async () => {
        const v = await c.client.call('getVm', { params: { name } });
        return v.hostId === h0 && v.phase === 'Running' ? v : undefined;
      }, 120_000, 'the VM restarted on h0');
      expect(moved.epoch).toBeGreaterThan(vm.epoch);
      expect(qemusOf(c.home, vm.id)).not.toContain(frozenQemu);
      const after = await waitFor(() => guestInfo(port, c.forwardAddress(0)).catch(() => undefined), 60_000, 'guest answers on h0');
      expect(after.bootId).not.toBe(before.bootId);
      const fenced = JSON.parse(readFileSync(join(c.agentDir(1), 'fenced.json'), 'utf8')) as Array<{ vmId: string; pid: number }>;
      expect(fenced).toEqual(expect.arrayContaining([expect.objectContaining({ vmId: vm.id, pid: frozenQemu })]));

      agent.child.kill('SIGCONT');
      await waitFor(async () => (await c.client.call('listHosts')).find((h) => h.id === h1)?.state === 'Ready', 90_000, 'h1 Ready again');
      expect((await c.client.call('getVm', { params: { name } })).hostId).toBe(h0);
      expect(qemusOf(c.home, vm.id)).toHaveLength(1);
    } finally {
      clearInterval(watch);
      agent.child.kill('SIGCONT');
    }
    expect(most).toBe(1);
    await c.client.waitJob((await c.client.call('deleteVm', { params: { name } })).job.id);
  }, 400_000);
});
