// A QEMU that dies on its own is reported Failed with its exit reason.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { killPid, startCluster, waitFor, type Cluster } from './harness.js';

describe('QEMU dies on its own', () => {
  let c: Cluster;
  beforeAll(async () => {
    c = await startCluster();
  });
  afterAll(async () => {
    await c?.stop();
  });

  it('moves the VM to Failed with the reason, and it can be started again', async () => {
    const { job } = await c.client.call('createVm', { body: { name: 'doomed', image: 'tiny', cpus: 1, memoryMiB: 256 } });
    await c.client.waitJob(job.id);
    const vm = await c.client.call('getVm', { params: { name: 'doomed' } });
    killPid(vm.pid!, 'SIGKILL');
    const failed = await waitFor(async () => {
      const v = await c.client.call('getVm', { params: { name: 'doomed' } });
      return v.phase === 'Failed' ? v : null;
    }, 15_000, 'phase Failed');
    expect(failed.reason).toMatch(/SIGKILL|signal|unexpectedly/i);
    const again = await c.client.call('startVm', { params: { name: 'doomed' }, body: {} });
    await c.client.waitJob(again.job.id);
    const running = await c.client.call('getVm', { params: { name: 'doomed' } });
    expect(running.phase).toBe('Running');
    expect(running.epoch).toBeGreaterThan(vm.epoch);
  });
});
