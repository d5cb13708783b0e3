// kill -9 the controller in the middle of `vm create`, between volume creation
// and QEMU start: after a restart the job finishes, with exactly one VM, one
// QEMU and its volumes, and nothing orphaned.
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort, guestInfo, startCluster, waitFor, type Cluster } from './harness.js';

describe('controller crash during vm create', () => {
  let c: Cluster;

  beforeAll(async () => {
    c = await startCluster({ controllerEnv: { DROVER_CRASH_AT: 'vm.create:start' } });
  });
  afterAll(async () => {
    await c?.stop();
  });

  it('resumes the job after restart: one VM, one QEMU, no orphan volume', async () => {
    const port = await freePort();
    const exited = new Promise<string | null>((resolve) => c.controller.child.once('exit', (_code, sig) => resolve(sig)));
    const { job } = await c.client.call('createVm', { body: { name: 'crashy', image: 'tiny', cpus: 1, memoryMiB: 256, ports: [{ hostPort: port, guestPort: 80 }] } });
    expect(await exited).toBe('SIGKILL');
    // Volumes were created before the crash; no QEMU runs yet.
    expect(c.qemuPids()).toEqual([]);

    await c.startController();
    const done = await c.client.waitJob(job.id);
    expect(done.state).toBe('succeeded');

    const vms = await c.client.call('listVms');
    expect(vms.map((v) => v.name)).toEqual(['crashy']);
    expect(vms[0]!.phase).toBe('Running');
    await waitFor(() => guestInfo(port), 60_000, 'guest up');
    expect(c.qemuPids().length).toBe(1);

    const volumes = (await c.client.call('listVolumes')).filter((v) => v.vmId === vms[0]!.id);
    expect(volumes.length).toBe(1);
    const onDisk = readdirSync(join(c.agentDir(0), 'pools', 'local', vms[0]!.id));
    expect(onDisk.length).toBe(1);
  });
});
