// HA failover with real agents, fencers and QEMU guests that keep writing an
// increasing counter to their data disks: a host is killed outright (its
// agent, its fencer and its QEMUs: a power loss) and its HA VM runs again on
// the other host, never twice, with every write it acknowledged; an agent
// frozen past the lease timeout is fenced by its fencer first; a controller
// killed in the middle of a failover finishes it after its restart, exactly
// once.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { counterProblems, readCounter, startCounter, type CounterWriter } from './guest-counter.js';
import { freePort, guestInfo, killHost, killProc, qemusOf, startCluster, waitFor, watchQemus, type Cluster } from './harness.js';

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

/** A counter writer against the guest's port on host `at()` (its forward address changes with the host). */
function counterOn(port: number, at: () => number): CounterWriter {
  return startCounter(() => `http://${c.forwardAddress(at())}:${port}`);
}

/** The writer came back from the outage (checking the disk then), stops, and the disk (read on host `i`) holds every acknowledged value. */
async function expectCounterKept(w: CounterWriter, port: number, i: number): Promise<void> {
  await waitFor(() => w.recoveries > 0, 30_000, 'the counter writer back after the fault');
  await w.stop();
  expect(w.acked, 'the guest acknowledged no write at all').toBeGreaterThan(0);
  const onDisk = await waitFor(() => readCounter(`http://${c.forwardAddress(i)}:${port}`), 30_000, 'the guest answers /counter');
  expect(counterProblems(onDisk, w)).toEqual([]);
}

async function createHaVm(name: string, host: string, port: number, haPriority = 0) {
  await c.client.call('createVm', { body: { name, image: 'tiny', host, memoryMiB: 256, diskBytes: 16 * 1048576, storage: 'shared', ha: true, haPriority, ports: [{ hostPort: port, guestPort: 80 }] } });
  return waitFor(async () => {
    const v = await c.client.call('getVm', { params: { name } });
    return v.phase === 'Running' && v.guestReadyAt ? v : undefined;
  }, 90_000, `${name} running`);
}

describe('a host is killed outright', () => {
  it('its HA VM runs again on the other host, never twice, with its disk data; the returning host does not run it', async () => {
    const name = 'ha-web';
    const port = await freePort();
    const vm = await createHaVm(name, 'h0', port);
    const [h0, h1] = await hostIds();
    expect(vm.hostId).toBe(h0);
    const before = await waitFor(() => guestInfo(port), 30_000, 'guest /info');
    let at = 0;
    const counter = counterOn(port, () => at);
    await waitFor(() => counter.acked > 0, 30_000, 'the first counter write acknowledged');

    // The invariant, watched the whole time: never two QEMUs of the VM.
    const qemus = watchQemus(c.home, vm.id);
    try {
      await killHost(c, 0);
      at = 1;
      const moved = await waitFor(async () => {
        const v = await c.client.call('getVm', { params: { name } });
        return v.hostId === h1 && v.phase === 'Running' ? v : undefined;
      }, 120_000, 'the VM restarted on h1');
      expect(moved.epoch).toBeGreaterThan(vm.epoch);
      const after = await waitFor(() => guestInfo(port, c.forwardAddress(1)).catch(() => undefined), 60_000, 'guest answers on h1');
      // A restart, not a migration: a new boot, and every write it acknowledged before is on its disk.
      expect(after.bootId).not.toBe(before.bootId);
      await expectCounterKept(counter, port, 1);
      expect((await c.client.call('listHosts')).find((h) => h.id === h0)?.state).toBe('Fenced');

      // The host comes back: it does not start the VM again; it turns Ready once it runs none of the moved VMs.
      await c.startAgent(0);
      await waitFor(async () => (await c.client.call('listHosts')).find((h) => h.id === h0)?.state === 'Ready', 90_000, 'h0 Ready again');
      expect((await c.client.call('getVm', { params: { name } })).hostId).toBe(h1);
      expect(qemusOf(c.home, vm.id)).toHaveLength(1);
    } finally {
      qemus.stop();
      await counter.stop();
    }
    expect(qemus.most).toBe(1);
    await c.client.waitJob((await c.client.call('deleteVm', { params: { name } })).job.id);
  }, 400_000);
});

describe('an agent frozen longer than the lease timeout', () => {
  it('its fencer kills the HA QEMU before the VM runs elsewhere; after SIGCONT nothing runs twice', async () => {
    const name = 'ha-frozen';
    const port = await freePort();
    const [h0, h1] = await hostIds();
    // It starts where the first case left the cluster: h1 runs nothing, h0 is Ready again.
    const vm = await createHaVm(name, 'h1', port);
    expect(vm.hostId).toBe(h1);
    const before = await waitFor(() => guestInfo(port, c.forwardAddress(1)), 30_000, 'guest /info');
    const [frozenQemu] = qemusOf(c.home, vm.id);
    expect(frozenQemu).toBeGreaterThan(0);
    let at = 1;
    const counter = counterOn(port, () => at);
    await waitFor(() => counter.acked > 0, 30_000, 'the first counter write acknowledged');

    const qemus = watchQemus(c.home, vm.id);
    const agent = c.agents[1]!;
    try {
      agent.child.kill('SIGSTOP');
      // The fencer (its own process) stops renewing without pings and kills the QEMU; only then does the VM move.
      const moved = await waitFor(async () => {
        const v = await c.client.call('getVm', { params: { name } });
        return v.hostId === h0 && v.phase === 'Running' ? v : undefined;
      }, 120_000, 'the VM restarted on h0');
      at = 0;
      expect(moved.epoch).toBeGreaterThan(vm.epoch);
      expect(qemusOf(c.home, vm.id)).not.toContain(frozenQemu);
      const after = await waitFor(() => guestInfo(port, c.forwardAddress(0)).catch(() => undefined), 60_000, 'guest answers on h0');
      expect(after.bootId).not.toBe(before.bootId);
      await expectCounterKept(counter, port, 0);
      const fenced = JSON.parse(readFileSync(join(c.agentDir(1), 'fenced.json'), 'utf8')) as Array<{ vmId: string; pid: number }>;
      expect(fenced).toEqual(expect.arrayContaining([expect.objectContaining({ vmId: vm.id, pid: frozenQemu })]));

      agent.child.kill('SIGCONT');
      await waitFor(async () => (await c.client.call('listHosts')).find((h) => h.id === h1)?.state === 'Ready', 90_000, 'h1 Ready again');
      expect((await c.client.call('getVm', { params: { name } })).hostId).toBe(h0);
      expect(qemusOf(c.home, vm.id)).toHaveLength(1);
    } finally {
      qemus.stop();
      await counter.stop();
      agent.child.kill('SIGCONT');
    }
    expect(qemus.most).toBe(1);
    // The frozen host's QEMU was gone before the new one started.
    const fresh = [...qemus.seen.entries()].filter(([pid]) => pid !== frozenQemu).map(([, v]) => v.first);
    expect(fresh).toHaveLength(1);
    expect(qemus.seen.get(frozenQemu!)!.last).toBeLessThan(fresh[0]!);
    await c.client.waitJob((await c.client.call('deleteVm', { params: { name } })).job.id);
  }, 400_000);
});

describe('a controller killed in the middle of a failover', () => {
  it('finishes it after its restart: each HA VM runs again exactly once, one epoch more', async () => {
    const [h0, h1] = await hostIds();
    const ports = [await freePort(), await freePort()];
    // Higher priority first: ha-c1 is restarted, then the controller dies before ha-c2.
    const vms = [await createHaVm('ha-c1', 'h0', ports[0]!, 2), await createHaVm('ha-c2', 'h0', ports[1]!, 1)];
    for (const v of vms) expect(v.hostId).toBe(h0);
    let at = 0;
    const counters = ports.map((p) => counterOn(p, () => at));
    await waitFor(() => counters.every((w) => w.acked > 0), 30_000, 'the first counter writes acknowledged');
    const qemus = vms.map((v) => watchQemus(c.home, v.id));

    // The controller is started again with a crash point right after the commit that restarts the first VM.
    await killProc(c.controller);
    const crashing = await c.startController({ DROVER_CRASH_AT: 'ha.failover:restart#1' });
    try {
      await killHost(c, 0);
      at = 1;
      await waitFor(() => crashing.child.exitCode !== null || crashing.child.signalCode !== null, 120_000, 'the controller crashing in the failover');
      expect(crashing.child.signalCode).toBe('SIGKILL');
      await c.startController();
      for (const [i, v] of vms.entries()) {
        const moved = await waitFor(async () => {
          const now = await c.client.call('getVm', { params: { name: v.name } });
          return now.hostId === h1 && now.phase === 'Running' ? now : undefined;
        }, 120_000, `${v.name} restarted on h1`);
        // Exactly once: one epoch more, not two.
        expect(moved.epoch).toBe(v.epoch + 1);
        await waitFor(() => guestInfo(ports[i]!, c.forwardAddress(1)).catch(() => undefined), 60_000, `${v.name} answers on h1`);
      }
      for (const [i, w] of counters.entries()) await expectCounterKept(w, ports[i]!, 1);
      const failovers = (await c.client.call('listJobs')).filter((j) => j.kind === 'ha.failover' && j.target === 'h0' && /ha-c1/.test(j.progress?.message ?? ''));
      expect(failovers).toHaveLength(1);
      expect(failovers[0]!.state).toBe('succeeded');

      await c.startAgent(0);
      await waitFor(async () => (await c.client.call('listHosts')).find((h) => h.id === h0)?.state === 'Ready', 90_000, 'h0 Ready again');
      for (const v of vms) expect(qemusOf(c.home, v.id)).toHaveLength(1);
    } finally {
      for (const q of qemus) q.stop();
      for (const w of counters) await w.stop();
    }
    for (const q of qemus) expect(q.most).toBe(1);
    for (const v of vms) await c.client.waitJob((await c.client.call('deleteVm', { params: { name: v.name } })).job.id);
  }, 400_000);
});
