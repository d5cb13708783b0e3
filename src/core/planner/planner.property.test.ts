// Properties of the planner over random snapshots (fast-check): every plan
// applies legally in order (capacity, must-constraints, HA admission, waves:
// checked by the independent applyPlan), what is not done is explained, the
// balancer never moves a VM again within its cooldown, and the same input
// gives the same plan.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { applyPlan, checkState, haDeficits, plan } from './index.js';
import type { ClusterSnapshot, PlanGoal } from './index.js';
import { snapshotArb } from './test-support/arbitrary.js';

const RUNS = { numRuns: Number(process.env.PLANNER_PROPERTY_RUNS ?? 150) };

/** The snapshot with its VMs placed by the planner: a legal start (packed: skewed, so balancing has work). */
function placed(s: ClusterSnapshot, placement: 'spread' | 'pack' = 'pack'): ClusterSnapshot {
  const packed = { ...s, policy: { ...s.policy, placement } };
  const r = applyPlan(packed, plan(packed, 'place'));
  expect(r.errors).toEqual([]);
  return { ...r.snapshot, policy: s.policy };
}

function legal(s: ClusterSnapshot, goal: PlanGoal): ClusterSnapshot {
  const p = plan(s, goal);
  const r = applyPlan(s, p);
  expect(r.errors, JSON.stringify({ goal, actions: p.actions.map((a) => [a.action, a.wave]) })).toEqual([]);
  expect(checkState(r.snapshot)).toEqual([]);
  return r.snapshot;
}

describe('planner properties', () => {
  it('place: every action is legal, and every VM is placed or explained (with no host that would have fit)', () => {
    fc.assert(
      fc.property(snapshotArb, (s) => {
        const p = plan(s, 'place');
        const r = applyPlan(s, p);
        expect(r.errors).toEqual([]);
        expect(checkState(r.snapshot)).toEqual([]);
        const unplaced = new Set(p.unplaced.map((u) => u.vm));
        for (const v of r.snapshot.vms) expect(v.host !== null || unplaced.has(v.id)).toBe(true);
        for (const u of p.unplaced) {
          expect(u.reasons.length).toBeGreaterThan(0);
          // Every host is in exactly one host class.
          if (s.hosts.length > 0) expect(u.reasons.reduce((n, r) => n + (r.hostCount ?? 0), 0)).toBe(s.hosts.length);
          for (const reason of u.reasons) if (reason.constraint === 'none') expect(s.groups?.some((g) => g.kind === 'affinity' && g.strength === 'must')).toBe(true);
        }
        const d0 = haDeficits(s);
        const d1 = haDeficits(r.snapshot);
        expect(d1.mem).toBeLessThanOrEqual(Math.max(0, d0.mem) + 1e-6);
        expect(d1.cpu).toBeLessThanOrEqual(Math.max(0, d0.cpu) + 1e-6);
      }),
      RUNS,
    );
  });

  it('balance, consolidate and evacuate from a legal state: legal, and no must-constraint, memory or HA admission broken', () => {
    fc.assert(
      fc.property(snapshotArb, fc.nat(), (s0, pick) => {
        const s = placed(s0);
        legal(s, 'balance');
        const c = plan(s, 'consolidate');
        const packed = legal(s, 'consolidate');
        // Hosts that receive VMs stay within the headroom (by load: measured use, else allocation).
        const limit = 1 - (s.policy!.headroom ?? 0.2);
        for (const a of c.actions) {
          if (a.action.kind !== 'migrate') continue;
          const to = a.action.to;
          const h = packed.hosts.find((x) => x.id === to)!;
          const on = packed.vms.filter((v) => v.host === to);
          const cpu = on.reduce((n, v) => n + (v.cpuUsage ?? v.cpus), 0);
          const mem = on.reduce((n, v) => n + (v.memoryUsageMiB ?? v.memoryMiB), 0);
          expect(cpu).toBeLessThanOrEqual(limit * (h.cpus - (h.reservedCpus ?? 0)) + 1e-6);
          expect(mem).toBeLessThanOrEqual(limit * (h.memoryMiB - (h.reservedMemoryMiB ?? 0)) + 1e-6);
        }
        const host = s.hosts[pick % s.hosts.length]!.id;
        const after = legal(s, { evacuate: host });
        const p = plan(s, { evacuate: host });
        const stuck = new Set(p.unplaced.map((u) => u.vm));
        for (const v of after.vms) if (v.host === host) expect(stuck.has(v.id)).toBe(true);
      }),
      RUNS,
    );
  });

  it('ha-restart: restarts only HA VMs of hosts that are gone, legally', () => {
    fc.assert(
      fc.property(snapshotArb, fc.nat(), (s0, pick) => {
        const s = placed(s0);
        const gone = s.hosts[pick % s.hosts.length]!.id;
        const failed = { ...s, hosts: s.hosts.filter((h) => h.id !== gone) };
        const p = plan(failed, 'ha-restart');
        expect(applyPlan(failed, p).errors).toEqual([]);
        for (const a of p.actions) {
          expect(a.action.kind).toBe('restart');
          const vm = s.vms.find((v) => v.id === (a.action as { vm: string }).vm)!;
          expect(vm.host).toBe(gone);
          expect(vm.ha).toBe(true);
        }
        const onGone = s.vms.filter((v) => v.host === gone).length;
        expect(p.actions.length + p.unplaced.length).toBe(onGone);
      }),
      RUNS,
    );
  });

  it('the balancer never lowers balance, and never moves a VM again within its cooldown over repeated passes', () => {
    fc.assert(
      fc.property(snapshotArb, fc.integer({ min: 60_000, max: 1_800_000 }), (s0, step) => {
        let s = placed(s0);
        const cooldown = s.policy!.balance!.cooldownMs!;
        const movedAt = new Map<string, number>();
        for (let pass = 0; pass < 6; pass++) {
          const p = plan(s, 'balance');
          expect(p.metrics.imbalanceAfter!).toBeLessThanOrEqual(p.metrics.imbalanceBefore! + 1e-9);
          for (const a of p.actions) {
            const id = (a.action as { vm: string }).vm;
            const before = movedAt.get(id) ?? s.vms.find((v) => v.id === id)!.lastMovedAtMs;
            if (before !== undefined) expect(s.nowMs! - before).toBeGreaterThanOrEqual(cooldown);
            movedAt.set(id, s.nowMs!);
          }
          s = { ...applyPlan(s, p).snapshot, nowMs: s.nowMs! + step };
        }
      }),
      { numRuns: 60 },
    );
  });

  it('is deterministic: the same snapshot gives the same plan', () => {
    fc.assert(
      fc.property(snapshotArb, fc.constantFrom<PlanGoal>('place', 'balance', 'consolidate', { evacuate: 'h0' }, 'ha-restart'), (s0, goal) => {
        const s = goal === 'place' ? s0 : placed(s0);
        expect(plan(structuredClone(s), goal)).toEqual(plan(s, goal));
      }),
      { numRuns: 80 },
    );
  });
});
