// What a pass plans from a snapshot and the two levels (pure).
import { describe, expect, it } from 'vitest';
import type { ClusterSnapshot, SnapshotHost, SnapshotVm } from '../../core/planner/index.js';
import { applyPlan, plan } from '../../core/planner/index.js';
import { afterPlan, planPass } from './plan-pass.js';

const host = (id: string): SnapshotHost => ({ id, name: `n${id}`, cpus: 8, memoryMiB: 16384, state: 'ready' });
const vm = (id: string, h: string, memoryUsageMiB: number): SnapshotVm => ({ id, name: `vm-${id}`, cpus: 1, memoryMiB: 4096, host: h, memoryUsageMiB, cpuUsage: 0 });

// h1 busy, h2 lightly used, h3 empty: power empties h3 (and h2 if it can); the balancer evens out what is left on.
const s: ClusterSnapshot = {
  nowMs: 1_000_000,
  hosts: [host('h1'), host('h2'), host('h3')],
  vms: [vm('a', 'h1', 4000), vm('b', 'h1', 4000), vm('c', 'h1', 4000), vm('d', 'h2', 500)],
  policy: { failures: 0 },
};
const kinds = (p: ReturnType<typeof planPass>) => p.recommendations.map((r) => [r.goal, r.level, r.summary]);

describe('an automation pass plan', () => {
  it('off and off: nothing', () => {
    expect(planPass(s, { balance: 'off', power: 'off' })).toEqual({ recommendations: [], metrics: {} });
  });

  it('balance alone: the planner\'s balance plan, each action named and explained', () => {
    const p = planPass(s, { balance: 'recommend', power: 'off' });
    expect(p.recommendations.length).toBeGreaterThan(0);
    expect(p.recommendations.map((r) => r.action)).toEqual(plan(s, 'balance').actions.map((a) => a.action));
    expect(p.recommendations[0]).toMatchObject({ goal: 'balance', level: 'recommend', state: 'recommended', summary: 'migrate vm-a from nh1 to nh3' });
    expect(p.recommendations[0]!.reason).toMatch(/^balance: moving vm-a from nh1/);
    expect(p.metrics.power).toBeUndefined();
  });

  it('power and balance both recommended read as one plan: the balancer plans on the cluster the power plan leaves', () => {
    const p = planPass(s, { balance: 'recommend', power: 'recommend' });
    const power = plan(s, 'consolidate');
    const standby = power.actions.flatMap((a) => (a.action.kind === 'standby' ? [a.action.host] : []));
    expect(standby.length).toBeGreaterThan(0);
    expect(kinds(p).slice(0, power.actions.length).every(([goal]) => goal === 'power')).toBe(true);
    const balance = p.recommendations.filter((r) => r.goal === 'balance');
    for (const r of balance) {
      const a = r.action as { vm: string; to: string };
      expect(standby).not.toContain(a.to);
      expect(power.actions.some((x) => x.action.kind === 'migrate' && x.action.vm === a.vm)).toBe(false);
    }
    // The balance part is legal on the cluster as the power plan leaves it.
    const after = afterPlan(s, power);
    expect(applyPlan(after, plan({ ...after, policy: { ...after.policy, balance: { automation: 'recommend' } } }, 'balance')).errors).toEqual([]);
  });

  it('automatic balance with power only recommended: the balancer plans on the cluster as it is', () => {
    const p = planPass(s, { balance: 'automatic', power: 'recommend' });
    const balance = p.recommendations.filter((r) => r.goal === 'balance');
    expect(balance.map((r) => r.action)).toEqual(plan(s, 'balance').actions.map((a) => a.action));
    expect(balance.every((r) => r.level === 'automatic')).toBe(true);
    expect(p.recommendations.filter((r) => r.goal === 'power').every((r) => r.level === 'recommend')).toBe(true);
  });

  it('the cluster after a power plan: its moves in flight, its standby hosts asleep', () => {
    const power = plan(s, 'consolidate');
    const after = afterPlan(s, power);
    for (const a of power.actions) {
      if (a.action.kind === 'migrate') expect(after.vms.find((v) => v.id === (a.action as { vm: string }).vm)?.migratingTo).toBe(a.action.to);
      if (a.action.kind === 'standby') expect(after.hosts.find((h) => h.id === (a.action as { host: string }).host)?.state).toBe('standby');
    }
  });

  it('grow: a saturated VM is grown, the balancer plans on the cluster with it grown, and grow off plans none', () => {
    // h1 holds a busy 1-vCPU VM that may grow to 4; h2 is empty.
    const busy: ClusterSnapshot = {
      nowMs: 1_000_000, hosts: [host('h1'), host('h2')], policy: { failures: 0 },
      vms: [{ id: 'x', name: 'vm-x', cpus: 1, maxCpus: 4, memoryMiB: 1024, host: 'h1', cpuUsage: 1 }],
    };
    const p = planPass(busy, { balance: 'recommend', power: 'off', grow: 'automatic' });
    expect(kinds(p)[0]).toEqual(['grow', 'automatic', 'grow vm-x to 2 vCPUs on nh1']);
    expect(p.recommendations[0]!.reason).toBe('vm-x is busy on 1 of its 1 vCPU (at or above 85%); nh1 has room: grow it there to 2 vCPUs');
    expect(p.metrics.grow).toMatchObject({ needy: 1, grown: 1 });
    const after = afterPlan(busy, plan(busy, 'grow'));
    expect(after.vms[0]).toMatchObject({ cpus: 2, cpuUsage: 1.4, lastResizedAtMs: 1_000_000 });
    expect(planPass(busy, { balance: 'off', power: 'off' }).recommendations).toEqual([]);
  });
});
