import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestBed, type TestBed } from './test-support/harness.js';

describe('assignments long poll', () => {
  let bed: TestBed;
  beforeAll(async () => {
    bed = await startTestBed();
  });
  afterAll(async () => {
    await bed?.stop();
  });

  it('answers at once without since, and with a since that is not current', async () => {
    const a = await bed.agent.assignments();
    expect(a.vms).toEqual([]);
    const b = await bed.agent.assignments(a.revision + 1000, 10_000);
    expect(b.revision).toBe(a.revision);
  });

  it('waits up to waitMs when nothing changed, and keeps the revision', async () => {
    const a = await bed.agent.assignments();
    // Reports and other commits that do not change this host's assignments do not wake it.
    const poll = bed.agent.assignments(a.revision, 300);
    await bed.agent.report();
    expect(await poll).toEqual(a);
  });

  it('wakes on a change of the host assignments with a new revision', async () => {
    const a = await bed.agent.assignments();
    const poll = bed.agent.assignments(a.revision, 20_000);
    const { vm } = await bed.client.call('createVm', { body: { name: 'polled', image: 'tiny' } });
    const b = await poll;
    expect(b.revision).toBeGreaterThan(a.revision);
    expect(b.vms).toMatchObject([{ id: vm.id, name: 'polled', power: 'stopped', epoch: 0, rebootSeq: 0, forceStop: false }]);
  });
});
