// kill -9 the agent while two VMs run: the VMs keep running, and the
// restarted agent finds them again and reports them Running.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort, guestInfo, isAlive, killProc, startCluster, waitFor, type Cluster } from './harness.js';

describe('agent crash and re-attach', () => {
  let c: Cluster;
  const ports: number[] = [];

  beforeAll(async () => {
    c = await startCluster();
  });
  afterAll(async () => {
    await c?.stop();
  });

  it('keeps VMs running through a kill -9 of the agent and re-attaches', async () => {
    for (const name of ['ra', 'rb']) {
      const port = await freePort();
      ports.push(port);
      const { job } = await c.client.call('createVm', { body: { name, image: 'tiny', cpus: 1, memoryMiB: 256, ports: [{ hostPort: port, guestPort: 80 }] } });
      await c.client.waitJob(job.id);
    }
    const before = await Promise.all(ports.map((p) => waitFor(() => guestInfo(p), 60_000, 'guest up')));
    const pids = (await c.client.call('listVms')).map((v) => v.pid!);
    expect(pids.every((p) => p > 0 && isAlive(p))).toBe(true);

    await killProc(c.agents[0], 'SIGKILL');
    // The guests still answer with the same boot ids while no agent runs.
    for (const [i, p] of ports.entries()) expect((await guestInfo(p)).bootId).toBe(before[i]!.bootId);
    expect(pids.every(isAlive)).toBe(true);

    await c.startAgent(0);
    const vms = await waitFor(async () => {
      const list = await c.client.call('listVms');
      return list.every((v) => v.phase === 'Running' && v.stats && v.stats.rssBytes > 0) ? list : null;
    }, 20_000, 'VMs reported Running after re-attach');
    expect(vms.map((v) => v.pid).sort()).toEqual([...pids].sort());
    for (const [i, p] of ports.entries()) expect((await guestInfo(p)).bootId).toBe(before[i]!.bootId);

    // The re-attached agent still controls them: a stop works.
    const { job } = await c.client.call('stopVm', { params: { name: 'ra' }, body: { force: true } });
    await c.client.waitJob(job.id);
    expect((await c.client.call('getVm', { params: { name: 'ra' } })).phase).toBe('Stopped');
    expect(isAlive(vms.find((v) => v.name === 'ra')!.pid!)).toBe(false);
  });
});
