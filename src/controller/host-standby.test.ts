// POST /v1/hosts/:name/standby against a real controller and fake agents:
// refused while the host runs VMs; an empty host goes to Standby, takes no
// new VMs, and activate brings it back.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FakeAgent } from './test-support/fake-agent.js';
import { startTestBed, type TestBed, joinAgent } from './test-support/harness.js';

describe('host standby', () => {
  let bed: TestBed;
  let h2: FakeAgent;
  const wait = async (r: Promise<{ job: { id: string } }>) => bed.client.waitJob((await r).job.id, undefined, 20);
  const stateOf = async (name: string) => (await bed.client.call('listHosts')).find((h) => h.name === name)?.state;

  beforeAll(async () => {
    bed = await startTestBed();
    bed.agent.converge();
    await wait(bed.client.call('createVm', { body: { name: 'web', image: 'tiny', host: 'h1' } }));
    h2 = await joinAgent(bed, 'h2');
    await h2.report();
  });
  afterAll(async () => {
    await h2?.stop();
    await bed?.stop();
  });

  it('refuses a host that runs VMs, naming them, and changes nothing', async () => {
    await expect(bed.client.call('hostStandby', { params: { name: 'h1' }, body: {} })).rejects.toMatchObject({ code: 'conflict', message: expect.stringMatching(/still runs 1 VM\(s\) \(web\).*drover host maintenance h1/) });
    expect(await stateOf('h1')).toBe('Ready');
  });

  it('puts an empty host in Standby, where it takes no VMs, and activate brings it back', async () => {
    expect(await bed.client.call('hostStandby', { params: { name: 'h2' }, body: {} })).toMatchObject({ name: 'h2', state: 'Standby' });
    await h2.report(); // a report does not wake it up
    expect(await stateOf('h2')).toBe('Standby');
    await expect(bed.client.call('createVm', { body: { name: 'x', image: 'tiny', host: 'h2' } })).rejects.toMatchObject({ field: 'host' });
    expect((await bed.client.call('getPool')).hosts.byState.Standby).toBe(1);
    expect(await bed.client.call('hostActivate', { params: { name: 'h2' }, body: {} })).toMatchObject({ state: 'Ready' });
  });
});
