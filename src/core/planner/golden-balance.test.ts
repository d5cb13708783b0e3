// Golden scenarios for balancing and power: small clusters with the plan
// they must give, readable as documentation.
import { describe, expect, it } from 'vitest';
import { applyPlan, plan } from './index.js';
import type { ClusterSnapshot, Plan, SnapshotHost, SnapshotVm } from './index.js';

const host = (id: string, over: Partial<SnapshotHost> = {}): SnapshotHost => ({ id, cpus: 8, memoryMiB: 16384, state: 'ready', ...over });
const vm = (id: string, over: Partial<SnapshotVm> = {}): SnapshotVm => ({ id, cpus: 2, memoryMiB: 4096, host: null, ...over });
const moves = (p: Plan) => p.actions.map((a) => a.action);

describe('balancing', () => {
  // h1 is full (4 VMs of 2 vCPUs / 4 GiB on 8 CPUs / 16 GiB): utilizations 1, 0, 0, imbalance 0.471.
  const skewed: ClusterSnapshot = {
    nowMs: 10_000_000,
    hosts: [host('h1'), host('h2'), host('h3')],
    vms: ['a', 'b', 'c', 'd'].map((id) => vm(id, { host: 'h1' })),
    policy: { failures: 0 },
  };

  it('moves VMs off the loaded host until no move lowers the imbalance, each paying for itself', () => {
    const p = plan(skewed, 'balance');
    expect(moves(p)).toEqual([
      { kind: 'migrate', vm: 'a', from: 'h1', to: 'h2' },
      { kind: 'migrate', vm: 'b', from: 'h1', to: 'h3' },
    ]);
    expect(p.metrics).toMatchObject({ imbalanceBefore: 0.4714, imbalanceAfter: 0.1179, moves: 2, automation: 1 });
    expect(p.actions[0]!.reason).toBe(
      // h1 is overloaded (1 > 0.8, the load the 20% headroom leaves it): the 0.2 of overload the move removes counts in its benefit.
      'balance: moving a from h1 (load 1 -> 0.75) to h2 (0 -> 0.25) lowers the imbalance 0.471 -> 0.312 and the load above the 80% limit by 0.2; benefit 1035 over 1800 s beats the migration cost 4.1 (4.1 s)',
    );
    expect(p.actions[0]!.numbers).toMatchObject({ memoryMiB: 4096, dirtyMiBs: 0, migrationS: 4.1, cost: 4.1, fromUtilAfter: 0.75, toUtilAfter: 0.25 });
    expect(p.automation).toBe('recommend');
  });

  it('does nothing below the threshold, and nothing with automation off (but reports the imbalance)', () => {
    const even = { ...skewed, vms: [vm('a', { host: 'h1' }), vm('b', { host: 'h2' }), vm('c', { host: 'h3' })] };
    expect(plan(even, 'balance')).toMatchObject({ actions: [], metrics: { imbalanceBefore: 0, moves: 0 } });
    const off = plan({ ...skewed, policy: { failures: 0, balance: { automation: 'off' } } }, 'balance');
    expect(off).toMatchObject({ actions: [], automation: 'off', metrics: { imbalanceBefore: 0.4714, automation: 0 } });
  });

  it('leaves a VM alone within its cooldown', () => {
    const s = { ...skewed, vms: skewed.vms.map((v) => (v.id === 'a' ? { ...v, lastMovedAtMs: skewed.nowMs! - 60_000 } : v)) };
    const p = plan(s, 'balance');
    expect(moves(p).map((a) => a.kind === 'migrate' && a.vm)).toEqual(['b', 'c']);
    expect(p.metrics.vmsInCooldown).toBe(1);
  });

  it('does not move a VM whose migration costs more than it buys: a high dirty rate over a short horizon', () => {
    const s: ClusterSnapshot = {
      ...skewed,
      vms: [vm('hot1', { host: 'h1', dirtyMiBs: 950 }), vm('hot2', { host: 'h1', dirtyMiBs: 950 }), vm('hot3', { host: 'h1', dirtyMiBs: 950 }), vm('calm', { host: 'h1' })],
      policy: { failures: 0, balanceCost: { horizonS: 60 } },
    };
    const p = plan(s, 'balance');
    // calm: 4096 MiB at 1000 MiB/s = 4.1 s < benefit 0.375 * 60 = 22.5 (the sum of squared deviations
    // drops from 0.667 to 0.292); hot: 950 MiB/s dirty leaves 100 MiB/s, 41 s > any benefit left.
    expect(moves(p)).toEqual([{ kind: 'migrate', vm: 'calm', from: 'h1', to: 'h2' }]);
  });

  it('does not split VMs that must share a host (the balancer leaves them; evacuation moves them together)', () => {
    const s: ClusterSnapshot = { ...skewed, groups: [{ id: 'trio', kind: 'affinity', strength: 'must', vms: ['c', 'b', 'a'] }] };
    expect(moves(plan(s, 'balance'))).toEqual([{ kind: 'migrate', vm: 'd', from: 'h1', to: 'h2' }]);
    expect(moves(plan(s, { evacuate: 'h1' })).map((a) => a.kind === 'migrate' && [a.vm, a.to])).toEqual([['a', 'h2'], ['b', 'h2'], ['c', 'h2'], ['d', 'h3']]);
  });

  it('uses measured usage when known: a VM using little counts little', () => {
    // h1: max(0.2 / 8 CPUs, 1024 / 16384 MiB) = 0.0625; h2: 0.25; h3: 0 -> standard deviation 0.1062.
    const s: ClusterSnapshot = {
      ...skewed,
      vms: [vm('idle1', { host: 'h1', cpuUsage: 0.1, memoryUsageMiB: 512 }), vm('idle2', { host: 'h1', cpuUsage: 0.1, memoryUsageMiB: 512 }), vm('busy', { host: 'h2', cpuUsage: 2, memoryUsageMiB: 4096 })],
    };
    expect(plan(s, 'balance').metrics.imbalanceBefore).toBeCloseTo(0.1062, 3);
  });
});

describe('power', () => {
  it('packs light VMs onto one host and puts the emptied hosts to standby', () => {
    const s: ClusterSnapshot = {
      hosts: [host('h1'), host('h2'), host('h3'), host('h4')],
      vms: ['v1', 'v2', 'v3', 'v4'].map((id, i) => vm(id, { host: `h${i + 1}`, memoryMiB: 2048, cpuUsage: 0.5 })),
      policy: { failures: 0 },
    };
    const p = plan(s, 'consolidate');
    expect(moves(p)).toEqual([
      { kind: 'migrate', vm: 'v1', from: 'h1', to: 'h2' },
      { kind: 'standby', host: 'h1' },
      { kind: 'migrate', vm: 'v3', from: 'h3', to: 'h2' },
      { kind: 'standby', host: 'h3' },
      { kind: 'migrate', vm: 'v4', from: 'h4', to: 'h2' },
      { kind: 'standby', host: 'h4' },
    ]);
    expect(p.metrics).toMatchObject({ hostsOnBefore: 4, hostsOnAfter: 1, standby: 3 });
    expect(applyPlan(s, p).errors).toEqual([]);
  });

  it('keeps hosts on for HA: the HA VMs of a failed host must be able to restart', () => {
    const s: ClusterSnapshot = {
      hosts: [host('h1'), host('h2'), host('h3')],
      vms: ['v1', 'v2', 'v3'].map((id, i) => vm(id, { host: `h${i + 1}`, memoryMiB: 2048, cpuUsage: 0.5, ha: true })),
    };
    const p = plan(s, 'consolidate');
    expect(p.metrics).toMatchObject({ hostsOnAfter: 2, haAdmission: 1 });
  });

  it('keeps hosts on for demand forecast within the lookahead', () => {
    const s: ClusterSnapshot = {
      nowMs: 0,
      hosts: [host('h1'), host('h2')],
      vms: [vm('v1', { host: 'h1', cpuUsage: 1 })],
      policy: { failures: 0 },
      forecast: [{ atMs: 1_800_000, cpu: 10, memoryMiB: 8192 }],
    };
    expect(plan(s, 'consolidate').actions).toEqual([]);
  });

  it('wakes a standby host ahead of forecast demand, allowing for its boot time', () => {
    const s: ClusterSnapshot = {
      nowMs: 0,
      hosts: [host('h1'), host('h2', { state: 'standby', bootSeconds: 120 })],
      vms: [vm('v1', { host: 'h1', cpuUsage: 6 })],
      policy: { failures: 0 },
      forecast: [{ atMs: 7_200_000, cpu: 10, memoryMiB: 8192 }],
    };
    const p = plan(s, 'consolidate');
    expect(moves(p)).toEqual([{ kind: 'power-on', host: 'h2', atMs: 7_080_000 }]);
    expect(p.actions[0]!.reason).toBe('power: the forecast for 7200 s from now needs 10 cores and 8192 MiB with 20% headroom; the hosts on give 6.4 cores and 13107 MiB; h2 boots in 120 s');
  });
});
