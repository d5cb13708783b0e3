import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hostStateOnReport, hostStateOnSilence } from './host-liveness.js';
import { eventually, startTestBed, type TestBed } from './test-support/harness.js';

describe('host state rules', () => {
  it('a report makes a joining or unreachable host Ready, and leaves maintenance alone', () => {
    expect(hostStateOnReport('Joining')).toBe('Ready');
    expect(hostStateOnReport('Unreachable')).toBe('Ready');
    expect(hostStateOnReport('Maintenance')).toBe('Maintenance');
  });

  it('silence beyond the limit makes a Ready host Unreachable', () => {
    expect(hostStateOnSilence('Ready', 10_001, 10_000)).toBe('Unreachable');
    expect(hostStateOnSilence('Ready', 9_999, 10_000)).toBe('Ready');
    expect(hostStateOnSilence('Standby', 60_000, 10_000)).toBe('Standby');
  });
});

describe('host liveness loop', () => {
  let bed: TestBed;
  beforeAll(async () => {
    bed = await startTestBed({ options: { unreachableAfterMs: 300 } });
  });
  afterAll(async () => {
    await bed?.stop();
  });

  it('marks a silent host Unreachable, and Ready again on its next report', async () => {
    await eventually(async () => (await bed.client.call('listHosts'))[0]?.state === 'Unreachable', 'Unreachable', 5000);
    await expect(bed.client.call('createVm', { body: { name: 'x', image: 'tiny' } })).rejects.toMatchObject({ code: 'unavailable' });
    await bed.agent.report();
    expect((await bed.client.call('listHosts'))[0]?.state).toBe('Ready');
  });
});
