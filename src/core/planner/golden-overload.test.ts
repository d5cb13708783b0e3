// Golden scenarios for overload (docs/planner.md, "Overload"): a host whose
// load is above what the headroom leaves it is relieved, by the balancer
// whatever the imbalance, and by consolidation, which wakes a standby host when
// no host on has room and fills it on the next pass.
import { describe, expect, it } from 'vitest';
import { applyPlan, plan } from './index.js';
import type { ClusterSnapshot, Plan, SnapshotHost, SnapshotVm } from './index.js';

const host = (id: string, over: Partial<SnapshotHost> = {}): SnapshotHost => ({ id, cpus: 8, memoryMiB: 16384, state: 'ready', ...over });
const vm = (id: string, over: Partial<SnapshotVm> = {}): SnapshotVm => ({ id, cpus: 2, memoryMiB: 2048, host: null, ...over });
const moves = (p: Plan) => p.actions.map((a) => a.action);
/** `n` VMs named PREFIX1.. on host h, each using `cores`. */
const on = (h: string, prefix: string, n: number, cores: number, over: Partial<SnapshotVm> = {}) =>
  Array.from({ length: n }, (_, i) => vm(`${prefix}${i + 1}`, { host: h, cpuUsage: cores, ...over }));

describe('the balancer and an overloaded host', () => {
  // h1 carries 4 x 1.9 cores on 8 CPUs (0.95), h2 and h3 6 cores (0.75); h4 was just woken and is empty.
  // The imbalance (0.363) is below this policy's threshold (0.5): only the overload makes the balancer act.
  const hot: ClusterSnapshot = {
    nowMs: 10_000_000,
    hosts: [host('h1'), host('h2'), host('h3'), host('h4')],
    vms: [...on('h1', 'a', 4, 1.9), ...on('h2', 'b', 3, 2), ...on('h3', 'c', 3, 2)],
    policy: { failures: 0, balance: { threshold: 0.5 } },
  };

  it('relieves a host above the hot level (1 - headroom + headroom x hysteresis: 0.9) onto the woken host, whatever the imbalance', () => {
    const p = plan(hot, 'balance');
    expect(moves(p)).toEqual([{ kind: 'migrate', vm: 'a1', from: 'h1', to: 'h4' }]);
    expect(p.actions[0]!.reason).toBe(
      // S (the sum of squared deviations) drops 0.527 -> 0.188, and 0.15 of overload goes: (0.339 + 0.15) x 1800.
      'balance: moving a1 from h1 (load 0.95 -> 0.712) to h4 (0 -> 0.238) lowers the imbalance 0.363 -> 0.217 and the load above the 80% limit by 0.15; benefit 879.2 over 1800 s beats the migration cost 2 (2 s)',
    );
    expect(p.actions[0]!.numbers).toMatchObject({ relief: 0.15, fromUtilAfter: 0.712 });
    expect(p.metrics).toMatchObject({ imbalanceBefore: 0.3629, overLimitBefore: 1, excessBefore: 0.15, overLimitAfter: 0, excessAfter: 0, moves: 1 });
    expect(applyPlan(hot, p).errors).toEqual([]);
  });

  it('leaves a host between the limit (0.8) and the hot level alone: the band keeps passes from starting on noise', () => {
    const warm = { ...hot, vms: [...on('h1', 'a', 4, 1.7), ...on('h2', 'b', 3, 2), ...on('h3', 'c', 3, 2)] };
    expect(plan(warm, 'balance')).toMatchObject({ actions: [], metrics: { overLimitBefore: 1, moves: 0 } });
  });

  it('does not move the overload onto another host: a move that only shifts it does not pay', () => {
    const noRoom = { ...hot, hosts: hot.hosts.slice(0, 3) };
    expect(plan(noRoom, 'balance').actions).toEqual([]);
  });
});

describe('consolidation and an overloaded host', () => {
  // Memory is fully allocated on h1..h3 (4 x 4 GiB on 16 GiB); h1 runs 4 x 1.95 cores on 8 CPUs (0.975).
  // In total the hosts on have CPU to spare (15.8 cores of 19.2 within the 20% headroom): only h1 is short.
  const full: ClusterSnapshot = {
    nowMs: 36_000_000,
    hosts: [host('h1'), host('h2'), host('h3'), host('h4', { state: 'standby', bootSeconds: 300 })],
    vms: [...on('h1', 'a', 4, 1.95), ...on('h2', 'b', 4, 1), ...on('h3', 'c', 4, 1)].map((v) => ({ ...v, memoryMiB: 4096, memoryUsageMiB: 2048 })),
    policy: { failures: 0 },
  };

  it('wakes a standby host now when no host on has room for the load above the limit, and puts none to sleep', () => {
    const p = plan(full, 'consolidate');
    expect(moves(p)).toEqual([{ kind: 'power-on', host: 'h4', atMs: 36_000_000 }]);
    expect(p.actions[0]!.reason).toBe(
      'power: 1.4 cores and 0 MiB of load above the 80% the headroom leaves find no host on with room for it in this pass; h4 boots in 300 s and takes some of it in the next',
    );
    expect(p.metrics).toMatchObject({ hotHosts: 1, reliefMoves: 0, reliefStuckCpu: 1.4, reliefPowerOn: 1, standby: 0, powerOn: 0 });
    expect(applyPlan(full, p).errors).toEqual([]);
  });

  it('on the next pass, with the woken host up, moves load onto it until the host is within the limit', () => {
    const next: ClusterSnapshot = { ...full, nowMs: full.nowMs! + 300_000, hosts: full.hosts.map((h) => (h.id === 'h4' ? { ...h, state: 'ready' } : h)) };
    const p = plan(next, 'consolidate');
    expect(moves(p)).toEqual([{ kind: 'migrate', vm: 'a1', from: 'h1', to: 'h4' }]);
    expect(p.actions[0]!.reason).toBe('consolidate: relieves h1 (load 0.975 -> 0.731, above the 80% the headroom leaves); h4 stays within it (0.244 after)');
    expect(p.actions[0]!.wave).toBe(0);
    expect(p.metrics).toMatchObject({ hotHosts: 1, reliefMoves: 1, reliefPowerOn: 0, standby: 0 });
    expect(applyPlan(next, p).errors).toEqual([]);
  });

  it('relieves onto a host on that has room, without waking one', () => {
    const roomy = { ...full, vms: full.vms.filter((v) => v.id !== 'b4') };
    expect(moves(plan(roomy, 'consolidate'))).toEqual([{ kind: 'migrate', vm: 'a1', from: 'h1', to: 'h2' }]);
  });
});
