// VMs in flight (snapshot `migratingTo`: a live migration under way): they
// count on both hosts, and no goal moves them again.
import { describe, expect, it } from 'vitest';
import { applyPlan, plan, validateSnapshot } from './index.js';
import type { ClusterSnapshot, Plan, SnapshotHost, SnapshotVm } from './index.js';

const host = (id: string, over: Partial<SnapshotHost> = {}): SnapshotHost => ({ id, cpus: 8, memoryMiB: 16384, state: 'ready', ...over });
const vm = (id: string, over: Partial<SnapshotVm> = {}): SnapshotVm => ({ id, cpus: 2, memoryMiB: 4096, host: null, ...over });
const moved = (p: Plan) => p.actions.flatMap((a) => (a.action.kind === 'migrate' ? [a.action.vm] : []));

describe('VMs in flight (migratingTo)', () => {
  // h1 full, h2 and h3 empty: without migratingTo the balancer moves a to h2 first.
  const skewed: ClusterSnapshot = {
    nowMs: 10_000_000,
    hosts: [host('h1'), host('h2'), host('h3')],
    vms: ['a', 'b', 'c', 'd'].map((id) => vm(id, { host: 'h1' })),
    policy: { failures: 0 },
  };
  const aToH2 = { ...skewed, vms: skewed.vms.map((v) => (v.id === 'a' ? { ...v, migratingTo: 'h2' } : v)) };

  it('the balancer never moves a VM in flight, and counts it on its target', () => {
    expect(moved(plan(skewed, 'balance'))[0]).toBe('a');
    const p = plan(aToH2, 'balance');
    expect(moved(p)).not.toContain('a');
    // a counts on h2 already (load 0.25 there): the next move goes to the emptier h3.
    expect(p.actions[0]!.action).toEqual({ kind: 'migrate', vm: 'b', from: 'h1', to: 'h3' });
    expect(applyPlan(aToH2, p).errors).toEqual([]);
  });

  it('counts it against the target\'s capacity', () => {
    // h2 has 16 GiB; an incoming 12 GiB VM leaves no room for a 8 GiB one there.
    const s: ClusterSnapshot = {
      nowMs: 0,
      hosts: [host('h1'), host('h2')],
      vms: [vm('big', { memoryMiB: 12288, host: 'h1', migratingTo: 'h2' }), vm('new', { memoryMiB: 8192 })],
      policy: { failures: 0 },
    };
    const p = plan(s, 'place');
    expect(p.actions).toEqual([]);
    expect(p.unplaced[0]!.reasons.map((r) => [r.constraint, r.hosts])).toEqual([['memory', ['h1', 'h2']]]);
  });

  it('consolidation leaves the hosts a migration leaves or enters alone', () => {
    const s: ClusterSnapshot = {
      nowMs: 0,
      hosts: [host('h1'), host('h2'), host('h3')],
      vms: [vm('a', { memoryMiB: 1024, host: 'h1', migratingTo: 'h2' }), vm('b', { memoryMiB: 1024, host: 'h3' })],
      policy: { failures: 0 },
    };
    const p = plan(s, 'consolidate');
    const standby = p.actions.flatMap((a) => (a.action.kind === 'standby' ? [a.action.host] : []));
    expect(standby).not.toContain('h1');
    expect(standby).not.toContain('h2');
    expect(moved(p)).not.toContain('a');
    expect(applyPlan(s, p).errors).toEqual([]);
  });

  it('evacuation lists it as in flight instead of moving it', () => {
    const p = plan(aToH2, { evacuate: 'h1' });
    expect(moved(p).sort()).toEqual(['b', 'c', 'd']);
    expect(p.unplaced).toEqual([{ vm: 'a', reasons: [{ hosts: [], constraint: 'in-flight', detail: 'a live migration of it to h2 is under way; it is not moved again', hostCount: 0 }] }]);
  });

  it('the checker refuses a plan that moves it, and the validator names a bad migratingTo', () => {
    const bad: Plan = { goal: 'balance', actions: [{ action: { kind: 'migrate', vm: 'a', from: 'h1', to: 'h3' }, reason: 'test', wave: 0 }], unplaced: [], metrics: {} };
    expect(applyPlan(aToH2, bad).errors).toContain('migrate a: a live migration of it to h2 is under way');
    expect(() => validateSnapshot({ hosts: [], vms: [{ id: 'x', cpus: 1, memoryMiB: 1, host: null, migratingTo: 3 }] })).toThrow('vms[0].migratingTo must be a host id');
  });
});
