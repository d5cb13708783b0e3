// Golden scenarios for the repair step of the balancer: must-constraints
// broken where VMs run now (set after they were placed) are repaired first,
// whatever the imbalance and the cooldown; what no host can repair is said.
import { describe, expect, it } from 'vitest';
import { applyPlan, checkState, plan } from './index.js';
import type { ClusterSnapshot, Plan, SnapshotHost, SnapshotVm } from './index.js';

const host = (id: string, over: Partial<SnapshotHost> = {}): SnapshotHost => ({ id, cpus: 8, memoryMiB: 16384, state: 'ready', ...over });
const vm = (id: string, over: Partial<SnapshotVm> = {}): SnapshotVm => ({ id, cpus: 1, memoryMiB: 1024, host: 'h1', ...over });
const moves = (p: Plan) => p.actions.map((a) => a.action);
const base = (vms: SnapshotVm[], over: Partial<ClusterSnapshot> = {}): ClusterSnapshot => ({
  // Balanced enough that the balancer alone would do nothing (threshold 0.5).
  nowMs: 10_000_000, hosts: [host('h1'), host('h2'), host('h3')], vms, policy: { failures: 0, balance: { threshold: 0.5, cooldownMs: 3_600_000 } }, ...over,
});

describe('repairing broken must-constraints', () => {
  it('moves one of two VMs of a must anti-affinity group off their shared host, even in its cooldown', () => {
    const s = base([vm('a', { lastMovedAtMs: 9_999_000 }), vm('b'), vm('x', { host: 'h2', memoryMiB: 4096 })], {
      groups: [{ id: 'web', kind: 'anti-affinity', strength: 'must', vms: ['a', 'b'] }],
    });
    const p = plan(s, 'balance');
    expect(moves(p)).toEqual([{ kind: 'migrate', vm: 'a', from: 'h1', to: 'h3' }]);
    expect(p.actions[0]!.reason).toBe('repair: a shares h1 with another VM of must-anti-affinity group web; h3 keeps every must rule');
    expect(p.metrics).toMatchObject({ mustBroken: 1, repairs: 1, moves: 1 });
    expect(checkState(applyPlan(s, p).snapshot)).toEqual([]);
  });

  it('moves a VM whose host lost the label of its must rule', () => {
    const s = base([vm('db', { hostRules: [{ labels: { disk: 'ssd' }, strength: 'must' }] })], {
      hosts: [host('h1'), host('h2', { labels: { disk: 'ssd' } }), host('h3')],
    });
    const p = plan(s, 'balance');
    expect(moves(p)).toEqual([{ kind: 'migrate', vm: 'db', from: 'h1', to: 'h2' }]);
    expect(p.actions[0]!.reason).toMatch(/^repair: db runs on h1, whose labels do not match its must rule \{"disk":"ssd"\}; h2 keeps every must rule/);
  });

  it('brings VMs that must share a host together, moving only those elsewhere', () => {
    const s = base([vm('app'), vm('cache', { host: 'h2' })], { groups: [{ id: 'pair', kind: 'affinity', strength: 'must', vms: ['app', 'cache'] }] });
    const p = plan(s, 'balance');
    expect(moves(p)).toHaveLength(1);
    const after = applyPlan(s, p).snapshot;
    expect(new Set(after.vms.map((v) => v.host)).size).toBe(1);
    expect(p.actions[0]!.reason).toMatch(/^repair: app, cache must share a host and are on h1, h2; /);
  });

  it('says why when no host can repair it, and moves nothing', () => {
    const s = base([vm('db', { hostRules: [{ labels: { disk: 'nvme' }, strength: 'must' }] })]);
    const p = plan(s, 'balance');
    expect(p.actions).toEqual([]);
    expect(p.unplaced).toEqual([{ vm: 'db', reasons: [{ hosts: ['h1', 'h2', 'h3'], constraint: 'host-label', detail: 'host labels do not match the must rule(s) {"disk":"nvme"}', hostCount: 3 }] }]);
    expect(p.metrics).toMatchObject({ mustBroken: 1, repairs: 0 });
  });

  it('repairs nothing with automation off, and within maxMoves', () => {
    const groups = [{ id: 'web', kind: 'anti-affinity' as const, strength: 'must' as const, vms: ['a', 'b', 'c'] }];
    const s = base([vm('a'), vm('b'), vm('c')], { groups });
    expect(plan({ ...s, policy: { ...s.policy, balance: { ...s.policy!.balance, automation: 'off' } } }, 'balance').actions).toEqual([]);
    expect(moves(plan({ ...s, policy: { ...s.policy, balance: { ...s.policy!.balance, maxMoves: 1 } } }, 'balance'))).toHaveLength(1);
    expect(moves(plan(s, 'balance')).map((a) => a.kind === 'migrate' && a.to).sort()).toEqual(['h2', 'h3']);
  });

  it('leaves a VM in flight alone', () => {
    const s = base([vm('a', { migratingTo: 'h3' }), vm('b')], { groups: [{ id: 'web', kind: 'anti-affinity', strength: 'must', vms: ['a', 'b'] }] });
    expect(moves(plan(s, 'balance'))).toEqual([{ kind: 'migrate', vm: 'b', from: 'h1', to: 'h2' }]);
  });
});
