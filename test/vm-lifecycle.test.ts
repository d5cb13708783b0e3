// A real tiny guest under QEMU (TCG here): create, reach over the forwarded
// port, and drive it through every lifecycle operation.
import { existsSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Vm } from '../src/api/resources.js';
import { freePort, guestGet, guestInfo, isAlive, startCluster, waitFor, type Cluster } from './harness.js';

describe('VM lifecycle on one host', () => {
  let c: Cluster;
  let port: number;
  const show = (): Promise<Vm> => c.client.call('getVm', { params: { name: 'life' } });

  beforeAll(async () => {
    c = await startCluster();
    port = await freePort();
  });
  afterAll(async () => {
    await c?.stop();
  });

  it('creates, boots and reaches a tiny VM with the requested CPUs and memory', async () => {
    const { vm, job } = await c.client.call('createVm', {
      body: { name: 'life', image: 'tiny', cpus: 2, memoryMiB: 256, diskBytes: 64 * 1024 ** 2, ports: [{ hostPort: port, guestPort: 80 }] },
    });
    expect(vm.phase).toBe('Pending');
    const done = await c.client.waitJob(job.id);
    expect(done.state).toBe('succeeded');
    expect((await show()).phase).toBe('Running');
    const info = await waitFor(() => guestInfo(port), 60_000, 'guest /info');
    expect(info.cpusOnline).toBe(2);
    // MemTotal is the RAM less what the kernel reserves: within 256 MiB and above 200 MiB.
    expect(info.memTotalKiB).toBeLessThanOrEqual(256 * 1024);
    expect(info.memTotalKiB).toBeGreaterThan(200 * 1024);
    expect(info.hostname).toBe('life');
    const health = await guestGet(port, '/health');
    expect(health.status).toBe(200);
  });

  it('reports the guest ready and its process stats', async () => {
    const vm = await waitFor(async () => {
      const v = await show();
      return v.guestReadyAt && v.stats && v.stats.rssBytes > 0 ? v : null;
    }, 20_000, 'readiness and stats');
    expect(vm.pid).toBeGreaterThan(0);
    expect(isAlive(vm.pid!)).toBe(true);
  });

  it('reboots: same VM, new boot id', async () => {
    const before = await guestInfo(port);
    const { job } = await c.client.call('rebootVm', { params: { name: 'life' }, body: {} });
    await c.client.waitJob(job.id);
    const after = await waitFor(async () => {
      const i = await guestInfo(port);
      return i.bootId !== before.bootId ? i : null;
    }, 60_000, 'new boot id');
    expect(after.hostname).toBe('life');
    expect((await show()).phase).toBe('Running');
  });

  it('pauses and resumes', async () => {
    const { job } = await c.client.call('pauseVm', { params: { name: 'life' }, body: {} });
    await c.client.waitJob(job.id);
    const paused = await show();
    expect(paused.phase).toBe('Paused');
    await waitFor(async () => (await show()).stats?.qmpStatus === 'paused', 10_000, 'qmp status paused');
    // A paused guest does not answer.
    await expect(guestGet(port, '/health', 1500)).rejects.toThrow();
    const r = await c.client.call('resumeVm', { params: { name: 'life' }, body: {} });
    await c.client.waitJob(r.job.id);
    expect((await show()).phase).toBe('Running');
    expect((await guestGet(port, '/health')).status).toBe(200);
  });

  it('refuses an illegal transition and changes nothing', async () => {
    await expect(c.client.call('resumeVm', { params: { name: 'life' }, body: {} })).rejects.toMatchObject({ code: 'conflict' });
    expect((await show()).phase).toBe('Running');
  });

  it('stops gracefully and starts again', async () => {
    const pid = (await show()).pid!;
    const { job } = await c.client.call('stopVm', { params: { name: 'life' }, body: {} });
    await c.client.waitJob(job.id);
    expect((await show()).phase).toBe('Stopped');
    await waitFor(() => !isAlive(pid), 10_000, 'QEMU exit');
    const s = await c.client.call('startVm', { params: { name: 'life' }, body: {} });
    await c.client.waitJob(s.job.id);
    expect((await show()).phase).toBe('Running');
    const info = await waitFor(() => guestInfo(port), 60_000, 'guest after start');
    expect(info.cpusOnline).toBe(2);
  });

  it('force-stops', async () => {
    const { job } = await c.client.call('stopVm', { params: { name: 'life' }, body: { force: true } });
    await c.client.waitJob(job.id);
    expect((await show()).phase).toBe('Stopped');
    expect(c.qemuPids()).toEqual([]);
  });

  it('deletes the VM with its volumes and process', async () => {
    const s = await c.client.call('startVm', { params: { name: 'life' }, body: {} });
    await c.client.waitJob(s.job.id);
    const vm = await show();
    const volumes = await c.client.call('listVolumes');
    const paths = volumes.filter((v) => v.vmId === vm.id).map((v) => v.path);
    expect(paths.length).toBe(2);
    for (const p of paths) expect(existsSync(p)).toBe(true);
    const { job } = await c.client.call('deleteVm', { params: { name: 'life' } });
    await c.client.waitJob(job.id);
    await expect(show()).rejects.toMatchObject({ code: 'not_found' });
    for (const p of paths) expect(existsSync(p)).toBe(false);
    expect(isAlive(vm.pid!)).toBe(false);
    expect(c.qemuPids()).toEqual([]);
    expect((await c.client.call('listVolumes')).filter((v) => v.vmId === vm.id)).toEqual([]);
  });
});
