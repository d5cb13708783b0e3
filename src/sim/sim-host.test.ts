// The simulated host against the host port's contract (host-port.ts): the
// same assertions could run against an adapter over a real agent.
import { describe, expect, it } from 'vitest';
import { VirtualClock } from './clock.js';
import type { PortAssignment } from './host-port.js';
import { SimulatedHost } from './sim-host.js';

const SPEC = { cpus: 16, memoryMiB: 65536, bootSeconds: 120, standbySeconds: 30, migrationBandwidthMiBs: 1000 };
const MODEL = { vmStartSeconds: 20, migrationSeconds: (_id: string, mem: number, bw: number) => mem / bw };

function pair(initial: 'on' | 'standby' = 'on') {
  const clock = new VirtualClock();
  const a = new SimulatedHost('a', SPEC, clock, MODEL);
  const b = new SimulatedHost('b', SPEC, clock, MODEL, initial);
  const at = (ms: number) => {
    clock.set(ms);
    a.advance(ms);
    b.advance(ms);
  };
  return { clock, a, b, at };
}

const run = (id: string, epoch = 1, extra: Partial<PortAssignment> = {}): PortAssignment => ({ id, power: 'running', epoch, memoryMiB: 4096, ...extra });
const state = (h: SimulatedHost, id: string) => h.report()?.vms.find((v) => v.id === id);

describe('simulated host', () => {
  it('starts an assigned VM in vmStartSeconds, and drops what is no longer assigned', () => {
    const { a, at } = pair();
    a.assign([run('v')]);
    expect(state(a, 'v')).toMatchObject({ state: 'starting', epoch: 1 });
    expect(a.nextEventMs()).toBe(20_000);
    at(19_999);
    expect(state(a, 'v')!.state).toBe('starting');
    at(20_000);
    expect(state(a, 'v')!.state).toBe('running');
    a.assign([]);
    expect(a.report()!.vms).toEqual([]);
  });

  it('boots in bootSeconds; VMs assigned meanwhile start once it is up', () => {
    const { b, at } = pair('standby');
    expect(b.report()!.power).toBe('standby');
    b.powerOn();
    expect(b.power()).toBe('booting');
    b.assign([run('v')]);
    at(120_000);
    expect(b.power()).toBe('on');
    expect(state(b, 'v')!.state).toBe('starting');
    at(140_000);
    expect(state(b, 'v')!.state).toBe('running');
  });

  it('goes to standby only empty, after standbySeconds', () => {
    const { a, at } = pair();
    a.assign([run('v')]);
    expect(() => a.standby()).toThrow(/standby refused/);
    a.assign([]);
    a.standby();
    expect(a.power()).toBe('entering-standby');
    at(30_000);
    expect(a.power()).toBe('standby');
  });

  it('migrates: target listens, source sends for the modelled time, then switchover and release', () => {
    const { a, b, at } = pair();
    a.assign([run('v')]);
    at(20_000);
    const mig = { id: 'm1', role: 'target' as const };
    b.assign([run('v', 2, { migration: mig })]);
    expect(state(b, 'v')!.migration).toMatchObject({ role: 'target', state: 'listening' });
    a.assign([run('v', 1, { migration: { id: 'm1', role: 'source', targetUri: 'sim:b' } })]);
    expect(state(a, 'v')!.migration!.state).toBe('transferring');
    expect(a.nextEventMs()).toBe(20_000 + 4096);
    at(24_096);
    expect(state(a, 'v')).toMatchObject({ state: 'running', migration: { state: 'completed', totalMs: 4096 } });
    b.assign([run('v', 2)]);
    a.assign([run('v', 1, { power: 'released' })]);
    expect(state(b, 'v')).toEqual({ id: 'v', state: 'running', epoch: 2 });
    expect(state(a, 'v')).toBeUndefined();
  });

  it('splits its bandwidth between concurrent outgoing migrations, and cancels on request', () => {
    const { a, at } = pair();
    a.assign([run('v'), run('w')]);
    at(20_000);
    a.assign([run('v', 1, { migration: { id: 'm1', role: 'source', targetUri: 'x' } }), run('w')]);
    a.assign([run('v', 1, { migration: { id: 'm1', role: 'source', targetUri: 'x' } }), run('w', 1, { migration: { id: 'm2', role: 'source', targetUri: 'x' } })]);
    expect(a.nextEventMs()).toBe(20_000 + 4096); // m1 started alone
    at(24_096);
    expect(a.nextEventMs()).toBe(20_000 + 8192); // m2 shared the link with m1: half the bandwidth
    a.assign([run('v'), run('w', 1, { migration: { id: 'm2', role: 'source', cancel: true } })]);
    expect(state(a, 'w')).toEqual({ id: 'w', state: 'running', epoch: 1 });
  });

  it('is silent when failed, and comes back empty and booting when repaired', () => {
    const { a, at } = pair();
    a.assign([run('v')]);
    a.fail();
    expect(a.report()).toBeNull();
    a.assign([run('v')]);
    a.repair();
    expect(a.report()).toEqual({ power: 'booting', vms: [] });
    at(120_000);
    expect(a.power()).toBe('on');
  });
});
