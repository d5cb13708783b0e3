// Resource pools with a real agent and QEMU guest (TCG), the agent placing
// VM cgroups below its own (--cgroups own): a VM of a pool with CPU shares
// runs in <group>/pool-<name>/vm-<id>, the pool group's CPU weight is the
// pool's shares; a create over the pool's memory limit is refused with the
// field and changes nothing; deleting the VM removes its group and the
// emptied pool group. docs/resource-pools.md.
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ApiError } from '../src/api/errors.js';
import { readVmCgroup, vmCgroupDirs } from '../src/host/cgroups.js';
import { useCgroupCluster } from './cgroup-cluster.js';
import { waitFor } from './harness.js';

const cg = useCgroupCluster(['gold']);
const { detection: cgroups, created } = cg;
const layout = cgroups.layout;

describe('resource pools on a real guest', () => {
  it.skipIf(!layout)(`runs a pool's VM below the pool's cgroup with its shares, and refuses a VM over the pool limit${layout ? '' : ` (skipped: ${cgroups.reason})`}`, async () => {
    await cg.client().call('createResourcePool', { body: { name: 'gold', cpu: { shares: 'high' }, memory: { limitMiB: 512 } } });
    created.push('g1');
    await cg.client().call('createVm', { body: { name: 'g1', image: 'tiny', memoryMiB: 256, resourcePool: 'gold' } });
    const vm = await waitFor(async () => {
      const v = await cg.client().call('getVm', { params: { name: 'g1' } });
      return v.phase === 'Running' && v.appliedLimits?.cgroup?.pool === 'gold' ? v : undefined;
    }, 120_000, 'g1 running in its pool group');
    const dirs = vmCgroupDirs(layout!, vm.id, 'gold');
    expect(dirs.cpu).toContain(`${path.sep}pool-gold${path.sep}vm-${vm.id}`);
    expect((await readVmCgroup(layout!, vm.id, 'gold'))?.pids).toContain(vm.pid);
    const weightFile = layout!.version === 2 ? 'cpu.weight' : 'cpu.shares';
    expect(fs.readFileSync(path.join(path.dirname(dirs.cpu), weightFile), 'utf8').trim()).toBe(layout!.version === 2 ? '200' : '2048');

    const before = await cg.client().call('listVms');
    const err = await cg.client().call('createVm', { body: { name: 'g2', image: 'tiny', memoryMiB: 512, resourcePool: 'gold' } }).then(() => undefined, (e: unknown) => e);
    expect(err).toBeInstanceOf(ApiError);
    expect(err).toMatchObject({ field: 'resourcePool', message: expect.stringMatching(/memory limit of resource pool gold \(512 MiB\): its VMs would come to 768 MiB/) });
    expect(await cg.client().call('listVms')).toHaveLength(before.length);

    const del = await cg.client().call('deleteVm', { params: { name: 'g1' } });
    await cg.client().waitJob(del.job.id);
    created.splice(created.indexOf('g1'), 1);
    await waitFor(() => !fs.existsSync(path.dirname(dirs.cpu)), 20_000, 'the VM group and the emptied pool group removed');
    await cg.client().call('deleteResourcePool', { params: { name: 'gold' } });
  }, 150_000);
});
