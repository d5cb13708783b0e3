// DELETE /v1/hosts/:name against a real controller and fake agents: refused
// while VMs are on the host, else Left with the credential revoked, persisted.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DroverEvent } from '../api/resources.js';
import { checkJoinAllowed, removalProblem } from './host-remove.js';
import { setHostState } from './job-kinds/host-maintenance.js';
import type { HostRecord, VmRecord } from './records.js';
import { FakeAgent } from './test-support/fake-agent.js';
import { startTestBed, type TestBed, joinAgent } from './test-support/harness.js';

/** Stops the agent converging and lets its last long poll (1 s) and report end, so nothing flips the host back to Ready. */
const quiet = async (agent: FakeAgent) => {
  agent.stopConverging();
  await new Promise((r) => setTimeout(r, 1500));
};

const at = '2026-01-01T00:00:00.000Z';
const spec = { image: 'tiny', cpus: 1, maxCpus: 4, memoryMiB: 256, maxMemoryMiB: 1024, volumes: [], ports: [], mac: '52:54:00:00:00:01' };
const hostRec = (state: HostRecord['state']): HostRecord => ({ id: 'h-1', name: 'h1', state, agentUrl: 'http://x', createdAt: at, credentialHash: 'x', credentialGeneration: 1 });
const vmRec = (name: string, phase: VmRecord['phase'], over: Partial<VmRecord> = {}): VmRecord => ({
  id: name, name, spec, phase, intent: 'running', hostId: 'h-1', epoch: 1, rebootSeq: 0, forceStop: false, createdAt: at, updatedAt: at, ...over,
});

describe('removalProblem', () => {
  it('lets a host without VMs go in any state', () => {
    for (const s of ['Joining', 'Ready', 'Unreachable', 'Maintenance', 'Standby'] as const) expect(removalProblem(hostRec(s), [])).toBeUndefined();
  });

  it('refuses a reachable host with VMs, naming them and the way out', () => {
    const p = removalProblem(hostRec('Ready'), [vmRec('web', 'Running'), vmRec('db', 'Stopped')]);
    expect(p).toContain('host h1 still has 2 VM(s): web (Running), db (Stopped)');
    expect(p).toContain('drover host maintenance h1');
  });

  it('lets an Unreachable host go when its VMs are all Stopped or Failed, not while one runs or migrates', () => {
    expect(removalProblem(hostRec('Unreachable'), [vmRec('a', 'Stopped'), vmRec('b', 'Failed')])).toBeUndefined();
    expect(removalProblem(hostRec('Unreachable'), [vmRec('a', 'Stopped'), vmRec('b', 'Running')])).toMatch(/b \(Running\).*only when they are all Stopped/);
    const migrating = vmRec('m', 'Stopped', { migration: { id: 'mig', stage: 'abort' } as VmRecord['migration'] });
    expect(removalProblem(hostRec('Unreachable'), [migrating])).toContain('m (Stopped, migrating)');
  });

  it('names at most ten VMs', () => {
    const vms = Array.from({ length: 12 }, (_, i) => vmRec(`v${i}`, 'Running'));
    expect(removalProblem(hostRec('Ready'), vms)).toMatch(/v9 \(Running\) and 2 more/);
  });

  it('refuses the join of a Left host only', () => {
    expect(() => checkJoinAllowed(undefined)).not.toThrow();
    expect(() => checkJoinAllowed(hostRec('Unreachable'))).not.toThrow();
    expect(() => checkJoinAllowed(hostRec('Left'))).toThrow(expect.objectContaining({ code: 'conflict', field: 'name', message: expect.stringContaining('host h1 was removed') }));
  });
});

describe('removing a host', () => {
  let bed: TestBed;
  let h2: FakeAgent;
  const events: DroverEvent[] = [];
  const wait = async (r: Promise<{ job: { id: string } }>) => bed.client.waitJob((await r).job.id, undefined, 20);
  const hostNamed = async (name: string) => (await bed.client.call('listHosts')).find((h) => h.name === name);

  beforeAll(async () => {
    bed = await startTestBed();
    bed.agent.converge();
    await wait(bed.client.call('createVm', { body: { name: 'web', image: 'tiny' } }));
    await wait(bed.client.call('createVm', { body: { name: 'db', image: 'tiny', host: 'h1' } }));
    await wait(bed.client.call('stopVm', { params: { name: 'db' }, body: {} }));
    h2 = await joinAgent(bed, 'h2');
    await h2.report();
    bed.ctl.ctx.state.events.subscribe((e) => events.push(e));
  });
  afterAll(async () => {
    await h2?.stop();
    await bed?.stop();
  });

  it('answers not_found naming the field for an unknown host', async () => {
    await expect(bed.client.call('removeHost', { params: { name: 'ghost' } })).rejects.toMatchObject({ code: 'not_found', field: 'name', message: expect.stringContaining('ghost') });
  });

  it('refuses a host with VMs (409 naming them) and changes nothing', async () => {
    const before = await hostNamed('h1');
    const err = await bed.client.call('removeHost', { params: { name: 'h1' } }).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'conflict', field: 'name', message: expect.stringMatching(/host h1 still has 2 VM\(s\): .*web \(Running\)/) });
    expect((err as Error).message).toContain('db (Stopped)');
    expect(await hostNamed('h1')).toEqual(before);
    await expect(bed.agent.assignments()).resolves.toMatchObject({ vms: expect.any(Array) });
  });

  it('removes a host without VMs: Left, its credential refused, events published', async () => {
    const removed = await bed.client.call('removeHost', { params: { name: 'h2' } });
    expect(removed).toMatchObject({ name: 'h2', state: 'Left', usage: { vms: 0 } });
    expect(JSON.stringify(removed)).not.toContain('credential');
    expect(await hostNamed('h2')).toMatchObject({ state: 'Left' });
    await expect(h2.assignments()).rejects.toMatchObject({ code: 'unauthorized' });
    await expect(h2.report()).rejects.toMatchObject({ code: 'unauthorized' });
    await expect(h2.join(bed.ctl.secrets.joinToken, 'h2')).rejects.toMatchObject({ code: 'conflict', field: 'name' });
    expect(events.map((e) => [e.kind, e.resource])).toEqual(expect.arrayContaining([['host.state', 'h2'], ['host.removed', 'h2']]));
    expect(events.find((e) => e.kind === 'host.state')?.message).toBe('host h2: Ready -> Left');
    const pool = await bed.client.call('getPool');
    expect(pool.hosts).toMatchObject({ total: 2, schedulable: 1, byState: { Ready: 1, Left: 1 } });
  });

  it('answers a second remove of a Left host with the host, unchanged', async () => {
    const n = events.length;
    expect(await bed.client.call('removeHost', { params: { name: 'h2' } })).toMatchObject({ name: 'h2', state: 'Left' });
    expect(events.length).toBe(n);
  });

  it('keeps the removal across a controller restart', async () => {
    await bed.restart();
    h2.controllerUrl = bed.ctl.url;
    expect(await hostNamed('h2')).toMatchObject({ state: 'Left' });
    await expect(h2.assignments()).rejects.toMatchObject({ code: 'unauthorized' });
  });

  it('removes an Unreachable host once none of its VMs runs; they stay, with the reason', async () => {
    await quiet(bed.agent);
    await setHostState(bed.ctl.ctx.state, bed.agent.hostId, 'Unreachable');
    await expect(bed.client.call('removeHost', { params: { name: 'h1' } })).rejects.toMatchObject({ code: 'conflict', message: expect.stringMatching(/web \(Running\).*only when they are all Stopped/) });
    bed.agent.converge();
    await wait(bed.client.call('stopVm', { params: { name: 'web' }, body: { force: true } }));
    await quiet(bed.agent);
    await setHostState(bed.ctl.ctx.state, bed.agent.hostId, 'Unreachable');
    expect(await bed.client.call('removeHost', { params: { name: bed.agent.hostId } })).toMatchObject({ name: 'h1', state: 'Left', usage: { vms: 2, activeVms: 0 } });
    const vms = await bed.client.call('listVms');
    expect(vms.map((v) => [v.name, v.phase])).toEqual(expect.arrayContaining([['web', 'Stopped'], ['db', 'Stopped']]));
    expect(vms.every((v) => v.reason?.includes('its host h1 was removed'))).toBe(true);
    await expect(bed.agent.report()).rejects.toMatchObject({ code: 'unauthorized' });
  });
});
