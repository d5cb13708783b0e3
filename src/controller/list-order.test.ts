// GET /v1/hosts and GET /v1/vms come sorted by name, whatever order the store
// keeps them in (its keys are ids), against a real controller and fake agents.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FakeAgent } from './test-support/fake-agent.js';
import { startTestBed, type TestBed, joinAgent } from './test-support/harness.js';

describe('list order', () => {
  let bed: TestBed;
  const extra: FakeAgent[] = [];

  beforeAll(async () => {
    bed = await startTestBed();
    bed.agent.converge();
    // Joined in an order that is not the name order: h3, then h0.
    for (const name of ['h3', 'h0']) {
      const a = await joinAgent(bed, name);
      await a.report();
      extra.push(a);
    }
    for (const name of ['zeta', 'alpha', 'mid']) await bed.client.waitJob((await bed.client.call('createVm', { body: { name, image: 'tiny', host: 'h1' } })).job.id, undefined, 20);
  });
  afterAll(async () => {
    for (const a of extra) await a.stop();
    await bed?.stop();
  });

  it('lists hosts and VMs by name', async () => {
    expect((await bed.client.call('listHosts')).map((h) => h.name)).toEqual(['h0', 'h1', 'h3']);
    expect((await bed.client.call('listVms')).map((v) => v.name)).toEqual(['alpha', 'mid', 'zeta']);
  });
});
