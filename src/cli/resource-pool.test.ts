// `drover resource-pool ...` and the --resource-pool flags of `drover vm
// create` and `drover vm set`, in-process against the fake controller.
import { describe, expect, it } from 'vitest';
import type { ResourcePool } from '../api/resource-pools.js';
import { buildPoolSettings } from './commands/resource-pool.js';
import { UsageError } from './output.js';
import { FakeApi, reply, useFakeApi } from './test-support/fake-api.js';
import { run, sampleHost, sampleJob, sampleVm } from './test-support/samples.js';

const AT = '2024-01-01T00:00:00.000Z';
const gold = (over: Partial<ResourcePool> = {}): ResourcePool => ({
  name: 'gold', parent: 'prod', cpu: { reservationCores: 2, limitCores: 8, shares: 'high' }, memory: { reservationMiB: 4096, limitMiB: 16384 },
  use: { cpus: 3, memoryMiB: 1536 }, held: { cpus: 3, memoryMiB: 4096 }, vms: ['web', 'db'], children: [], createdAt: AT, updatedAt: AT, ...over,
});

describe('resource pool flags', () => {
  it('turns flags into settings; none removes on set', () => {
    expect(buildPoolSettings({ cpuReservation: '2', cpuLimit: '0.5', memoryReservation: '4G', memoryLimit: '16384', cpuShares: 'high', memoryShares: '1500' }, false)).toEqual({
      cpu: { reservationCores: 2, limitCores: 0.5, shares: 'high' }, memory: { reservationMiB: 4096, limitMiB: 16384, shares: 1500 },
    });
    expect(buildPoolSettings({ cpuLimit: 'none', memoryReservation: '1G' }, true)).toEqual({ memory: { reservationMiB: 1024 }, remove: ['cpu.limitCores'] });
    const bad: Array<[object, string]> = [[{ cpuLimit: 'lots' }, '--cpu-limit'], [{ cpuShares: 'max' }, '--cpu-shares'], [{ cpuShares: '5' }, '--cpu-shares'], [{ memoryLimit: '1.5M' }, '--memory-limit'], [{ cpuReservation: 'none' }, '--cpu-reservation']];
    for (const [flags, option] of bad) {
      let err: unknown;
      try {
        buildPoolSettings(flags, false);
      } catch (e) {
        err = e;
      }
      expect(err, JSON.stringify(flags)).toBeInstanceOf(UsageError);
      expect((err as UsageError).field).toBe(option);
    }
  });
});

describe('drover resource-pool', () => {
  let api: FakeApi;
  let env: Record<string, string>;
  useFakeApi((a, e) => ([api, env] = [a, e]));

  it('creates a pool from flags, and prints it', async () => {
    api.on('createResourcePool', () => gold());
    const r = await run(['resource-pool', 'create', 'gold', '--parent', 'prod', '--cpu-reservation', '2', '--cpu-limit', '8', '--memory-reservation', '4G', '--memory-limit', '16G', '--cpu-shares', 'high'], { env });
    expect(r.code, r.stderr).toBe(0);
    expect(api.requests.map((q) => [q.route, q.body])).toEqual([['createResourcePool', { name: 'gold', parent: 'prod', cpu: { reservationCores: 2, limitCores: 8, shares: 'high' }, memory: { reservationMiB: 4096, limitMiB: 16384 } }]]);
    expect(r.stdout).toBe('Resource pool gold created in prod: CPU reservation 2, limit 8, shares high; use 3 vCPUs; memory reservation 4 GiB, limit 16 GiB, shares normal; use 1536 MiB\n');
  });

  it('lists (alias rpool), shows, sets and deletes; --json prints the API objects', async () => {
    api.on('listResourcePools', () => [gold()]);
    api.on('getResourcePool', () => gold());
    api.on('updateResourcePool', () => gold({ cpu: { reservationCores: 2 } }));
    api.on('deleteResourcePool', () => gold());
    const list = await run(['rpool', 'list'], { env });
    expect(list.stdout).toMatch(/NAME\s+PARENT\s+CPU-RES\s+CPU-LIMIT\s+CPU-SHARES\s+CPU-USE\s+MEM-RES\s+MEM-LIMIT\s+MEM-USE\s+VMS\n/);
    expect(list.stdout).toMatch(/gold\s+prod\s+2\s+8\s+high\s+3\s+4 GiB\s+16 GiB\s+1536 MiB\s+2\n/);
    const show = await run(['resource-pool', 'show', 'gold'], { env });
    expect(show.stdout).toMatch(/VMs:\s+web, db\n/);
    expect(show.stdout).toMatch(/Held:\s+3 vCPUs, 4 GiB/);
    const set = await run(['resource-pool', 'set', 'gold', '--cpu-limit', 'none', '--memory-shares', 'low'], { env });
    expect(set.code, set.stderr).toBe(0);
    expect(api.requests.at(-1)?.body).toEqual({ memory: { shares: 'low' }, remove: ['cpu.limitCores'] });
    expect((await run(['resource-pool', 'set', 'gold'], { env })).code).toBe(2);
    expect((await run(['resource-pool', 'delete', 'gold'], { env })).stdout).toBe('Resource pool gold deleted\n');
    expect(JSON.parse((await run(['--json', 'rpool', 'show', 'gold'], { env })).stdout)).toEqual(gold());
  });

  it('shows the controller refusal with its field', async () => {
    api.on('createResourcePool', () => reply(409, { error: { code: 'conflict', message: 'resource pool x: the CPU reservation (3 cores) is above the CPU limit (2 cores) of pool x', field: 'cpu.reservationCores' } }));
    const r = await run(['resource-pool', 'create', 'x', '--cpu-reservation', '3', '--cpu-limit', '2'], { env });
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/above the CPU limit[\s\S]*field: cpu.reservationCores/);
  });

  it('vm create --resource-pool and vm set --resource-pool / --no-resource-pool', async () => {
    api.on('createVm', () => ({ vm: sampleVm(), job: sampleJob() }));
    api.on('updateVm', () => sampleVm());
    api.on('listHosts', () => [sampleHost()]);
    await run(['vm', 'create', 'web', '--resource-pool', 'gold', '--no-wait'], { env });
    expect(api.requests[0]?.body).toMatchObject({ name: 'web', resourcePool: 'gold' });
    await run(['vm', 'set', 'web', '--resource-pool', 'gold'], { env });
    await run(['vm', 'set', 'web', '--no-resource-pool'], { env });
    expect(api.requests.filter((q) => q.route === 'updateVm').map((q) => q.body)).toEqual([{ resourcePool: 'gold' }, { resourcePool: null }]);
  });
});
