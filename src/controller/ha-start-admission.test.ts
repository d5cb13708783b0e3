// HA admission on `vm start`, against a real controller and two fake agents.
// Two hosts of 4096 MiB, F = 1: h1 runs HA VM a (2048 MiB), h2 a plain VM
// (1536 MiB); admission holds with 512 MiB to spare. Stopped on h1: HA VMs s
// (1024 MiB) and tiny (256 MiB); stopped on h2: plain VM p (1024 MiB).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CreateVmRequest } from '../api/requests.js';
import type { FakeAgent } from './test-support/fake-agent.js';
import { joinAgent, startTestBed, type TestBed } from './test-support/harness.js';

describe('HA admission of a start', () => {
  let bed: TestBed;
  let h2: FakeAgent;
  const errorOf = <T>(p: Promise<T>) => p.then(() => undefined, (e: unknown) => e as Error & { code: string; field?: string });
  const create = async (body: Partial<CreateVmRequest> & { name: string }) => {
    const { job } = await bed.client.call('createVm', { body: { image: 'tiny', ...body } });
    await bed.client.waitJob(job.id, undefined, 20);
  };
  const start = async (name: string) => {
    const { job } = await bed.client.call('startVm', { params: { name }, body: {} });
    return bed.client.waitJob(job.id, undefined, 20);
  };
  const getVm = (name: string) => bed.client.call('getVm', { params: { name } });
  const haFailures = (n: number) => bed.client.call('setAutomation', { body: { haFailures: n } });

  beforeAll(async () => {
    bed = await startTestBed();
    bed.agent.converge();
    h2 = await joinAgent(bed, 'h2');
    await h2.report();
    h2.converge();
    await haFailures(0); // the setup itself is not what is tested
    await create({ name: 'a', host: 'h1', ha: true, memoryMiB: 2048 });
    await create({ name: 'fill', host: 'h2', memoryMiB: 1536 });
    await create({ name: 's', host: 'h1', ha: true, memoryMiB: 1024 });
    await create({ name: 'tiny', host: 'h1', ha: true, memoryMiB: 256 });
    await create({ name: 'p', host: 'h2', memoryMiB: 1024 });
    for (const name of ['s', 'tiny', 'p']) await bed.client.waitJob((await bed.client.call('stopVm', { params: { name }, body: {} })).job.id, undefined, 20);
    await haFailures(1);
  }, 30_000);
  afterAll(async () => {
    await h2?.stop();
    await bed?.stop();
  });

  it('refuses starting an HA VM that would leave too little room for a host failure, and changes nothing', async () => {
    expect((await bed.client.call('getPool')).ha?.admission).toMatchObject({ holds: true, spareMemoryMiB: 512 });
    const before = await getVm('s');
    expect(before.phase).toBe('Stopped');
    const jobs = (await bed.client.call('listJobs')).length;
    const err = await errorOf(bed.client.call('startVm', { params: { name: 's' }, body: {} }));
    expect(err).toMatchObject({
      code: 'conflict', field: 'ha',
      message: expect.stringMatching(/^HA admission refuses it: started, HA VM s would leave the Ready hosts short by 512 MiB of memory to restart the HA VMs of any 1 failed host\(s\); the cluster keeps room to restart the HA VMs of any 1 failed host\(s\) \(automation setting haFailures = 1\)\. Add hosts, free memory, or lower it: drover automation set --ha-failures N$/),
    });
    expect(await getVm('s')).toEqual(before);
    expect((await bed.client.call('listJobs')).length).toBe(jobs);
  });

  it('starts an HA VM that keeps the room', async () => {
    await start('tiny');
    expect((await getVm('tiny')).phase).toBe('Running');
    expect((await bed.client.call('getPool')).ha?.admission).toMatchObject({ holds: true, spareMemoryMiB: 256 });
  });

  it('never refuses a plain VM, even one that breaks the room', async () => {
    await start('p');
    expect((await getVm('p')).phase).toBe('Running');
    expect((await bed.client.call('getPool')).ha?.admission).toMatchObject({ holds: false });
  });

  it('F = 0 turns it off', async () => {
    await haFailures(0);
    await start('s');
    expect((await getVm('s')).phase).toBe('Running');
  });
});
