// Golden scenarios for goal grow (reallocation by need, docs/automation.md):
// a VM busy on nearly all its vCPUs is grown where it runs when its host has
// room, else moved to a host that has room and grown there; never past its
// maxCpus, never onto a host it may not use, never twice within the cooldown.
import { describe, expect, it } from 'vitest';
import { grownCpus } from './grow.js';
import { applyPlan, plan } from './index.js';
import type { ClusterSnapshot, SnapshotHost, SnapshotVm } from './index.js';

const host = (id: string, over: Partial<SnapshotHost> = {}): SnapshotHost => ({ id, cpus: 4, memoryMiB: 16384, state: 'ready', ...over });
const vm = (id: string, over: Partial<SnapshotVm> = {}): SnapshotVm => ({ id, cpus: 1, maxCpus: 4, memoryMiB: 1024, host: 'h1', cpuUsage: 0.1, ...over });
const base = (vms: SnapshotVm[], hosts = [host('h1'), host('h2')]): ClusterSnapshot => ({ nowMs: 100_000_000, hosts, vms, policy: { failures: 0 } });

describe('grownCpus', () => {
  it('brings the use to the target utilization, at least one more vCPU, at most maxCpus', () => {
    expect(grownCpus(1, 1, 4, 0.7)).toBe(2);
    expect(grownCpus(2, 2, 8, 0.7)).toBe(3);
    expect(grownCpus(4, 4, 8, 0.7)).toBe(6);
    expect(grownCpus(4, 4, 5, 0.7)).toBe(5);
    expect(grownCpus(0.9, 1, 4, 0.7)).toBe(2);
  });
});

describe('goal grow', () => {
  it('grows a saturated VM where it runs when its host has room, and says why', () => {
    const s = base([vm('app', { name: 'app', cpuUsage: 0.97 })]);
    const p = plan(s, 'grow');
    expect(p.actions.map((a) => a.action)).toEqual([{ kind: 'resize', vm: 'app', host: 'h1', cpus: 2 }]);
    expect(p.actions[0]!.reason).toBe('app is busy on 0.97 of its 1 vCPU (at or above 85%); h1 has room: grow it there to 2 vCPUs');
    expect(p.metrics).toMatchObject({ needy: 1, grown: 1, unmet: 0, moves: 0 });
    expect(applyPlan(s, p).errors).toEqual([]);
  });

  it('leaves a VM below the threshold, one at its maxCpus, and one resized within the cooldown alone', () => {
    const s = base([
      vm('calm', { cpuUsage: 0.8 }),
      vm('full', { cpus: 4, maxCpus: 4, cpuUsage: 4 }),
      vm('fresh', { cpuUsage: 1, lastResizedAtMs: 100_000_000 - 60_000 }),
      vm('fixed', { maxCpus: undefined, cpuUsage: 1 }),
    ]);
    expect(plan(s, 'grow')).toMatchObject({ actions: [], metrics: { needy: 0 } });
  });

  it('moves a VM whose host has no room to the host with the most room, then grows it there (a later wave)', () => {
    // h1: 4 cores, load 3.1 (app 1 + busy 2.1); app grown to 2 vCPUs is expected at 1.4: 3.5 > 0.8 x 4. h2 is idle, h3 half full.
    const s = base([vm('app', { name: 'app', cpuUsage: 1 }), vm('busy', { cpus: 3, cpuUsage: 2.1, maxCpus: 3 }), vm('other', { host: 'h3', cpus: 2, maxCpus: 2, cpuUsage: 2 })], [host('h1'), host('h2'), host('h3')]);
    const p = plan(s, 'grow');
    expect(p.actions.map((a) => [a.action, a.wave])).toEqual([
      [{ kind: 'migrate', vm: 'app', from: 'h1', to: 'h2' }, 0],
      [{ kind: 'resize', vm: 'app', host: 'h2', cpus: 2 }, 1],
    ]);
    expect(p.actions[0]!.reason).toBe('app is busy on 1 of its 1 vCPU (at or above 85%); h1 has no room for 2 (CPU load 3.1 of 4 cores, limit 80%): move it to h2, which has, then grow it there');
    expect(applyPlan(s, p).errors).toEqual([]);
  });

  it('keeps must-constraints: a host rule keeps the VM on its host class, and with no room there it is reported unmet', () => {
    const rule = { hostRules: [{ labels: { zone: 'a' }, strength: 'must' as const }] };
    const s = base([vm('app', { cpuUsage: 1, ...rule }), vm('busy', { cpus: 3, cpuUsage: 2.1, maxCpus: 3 })], [host('h1', { labels: { zone: 'a' } }), host('h2', { labels: { zone: 'b' } })]);
    const p = plan(s, 'grow');
    expect(p.actions).toEqual([]);
    expect(p.metrics).toMatchObject({ needy: 1, unmet: 1 });
    expect(p.unplaced[0]!.reasons[0]!.detail).toBe('app is busy on 1 of its 1 vCPU (at or above 85%), and no host has CPU room for it at 2 vCPUs');
  });

  it('does not move a VM within the balancer cooldown, nor one in flight, nor more than maxMoves', () => {
    const crowded = (over: Partial<SnapshotVm>) => base([vm('app', { cpuUsage: 1, ...over }), vm('busy', { cpus: 3, cpuUsage: 2.1, maxCpus: 3 })]);
    expect(plan(crowded({ lastMovedAtMs: 100_000_000 - 1000 }), 'grow').actions).toEqual([]);
    expect(plan(crowded({ migratingTo: 'h2' }), 'grow').actions).toEqual([]);
    const s = crowded({});
    expect(plan({ ...s, policy: { failures: 0, balance: { maxMoves: 0 } } }, 'grow').actions).toEqual([]);
  });

  it('grows the busiest first and counts each growth against the host room the next one sees', () => {
    // h1: 3 cores, limit 2.4; a and b busy on their 1 vCPU (load 1.95). A grown VM is expected at 70% of 2 vCPUs (1.4):
    // b (the busier) grows in place (load 2.35), then a would make it 2.8: a moves to h2 and grows there.
    const s = base([vm('a', { cpuUsage: 0.95 }), vm('b', { cpuUsage: 1 })], [host('h1', { cpus: 3 }), host('h2')]);
    const p = plan(s, 'grow');
    expect(p.actions.map((a) => a.action)).toEqual([
      { kind: 'resize', vm: 'b', host: 'h1', cpus: 2 },
      { kind: 'migrate', vm: 'a', from: 'h1', to: 'h2' },
      { kind: 'resize', vm: 'a', host: 'h2', cpus: 2 },
    ]);
    expect(applyPlan(s, p).errors).toEqual([]);
  });

  it('follows the policy: threshold, target utilization', () => {
    const s = { ...base([vm('app', { cpus: 2, cpuUsage: 1.5 })]), policy: { failures: 0, grow: { cpuAt: 0.7, targetUtil: 0.5 } } };
    expect(plan(s, 'grow').actions.map((a) => a.action)).toEqual([{ kind: 'resize', vm: 'app', host: 'h1', cpus: 3 }]);
  });
});

describe('goal grow and resource pools', () => {
  it('does not grow a VM past its pool\'s CPU limit, and says so', () => {
    const s: ClusterSnapshot = {
      ...base([vm('app', { name: 'app', cpuUsage: 1, pool: 'gold' }), vm('peer', { cpus: 1, maxCpus: 1, pool: 'gold' })]),
      pools: [{ id: 'gold', cpu: { limitCores: 2 } }],
    };
    const p = plan(s, 'grow');
    expect(p.actions).toEqual([]);
    expect(p.unplaced[0]!.reasons[0]!.constraint).toBe('pool-limit');
    expect(p.unplaced[0]!.reasons[0]!.detail).toMatch(/^growing VM app .*limit of resource pool gold/);
    // With room in the pool it grows.
    expect(plan({ ...s, pools: [{ id: 'gold', cpu: { limitCores: 3 } }] }, 'grow').actions.map((a) => a.action.kind)).toEqual(['resize']);
  });
});
