// Golden scenarios for placement, evacuation and HA restart: small clusters
// with the plan they must give. Read them as documentation of the planner.
import { describe, expect, it } from 'vitest';
import { applyPlan, plan } from './index.js';
import type { ClusterSnapshot, Plan, SnapshotHost, SnapshotVm } from './index.js';

const host = (id: string, over: Partial<SnapshotHost> = {}): SnapshotHost => ({ id, cpus: 8, memoryMiB: 16384, state: 'ready', ...over });
const vm = (id: string, over: Partial<SnapshotVm> = {}): SnapshotVm => ({ id, cpus: 2, memoryMiB: 4096, host: null, ...over });
const moves = (p: Plan) => p.actions.map((a) => a.action);

describe('placement', () => {
  it('spread puts each VM on the host with the most room; pack fills the first host first', () => {
    const s: ClusterSnapshot = { hosts: [host('h1'), host('h2'), host('h3')], vms: [vm('a'), vm('b'), vm('c')], policy: { failures: 0 } };
    expect(moves(plan(s, 'place')).map((a) => a.kind === 'place' && a.host).sort()).toEqual(['h1', 'h2', 'h3']);
    const packed = plan({ ...s, policy: { failures: 0, placement: 'pack' } }, 'place');
    expect(moves(packed)).toEqual([
      { kind: 'place', vm: 'a', host: 'h1' },
      { kind: 'place', vm: 'b', host: 'h1' },
      { kind: 'place', vm: 'c', host: 'h1' },
    ]);
    expect(packed.actions[0]!.reason).toBe('pack: h1 is the first host in pack order with room');
  });

  it('places the largest VMs first, and a memory-full host takes no more (memory is not overcommitted)', () => {
    const s: ClusterSnapshot = { hosts: [host('h1', { memoryMiB: 8192 })], vms: [vm('small', { memoryMiB: 2048 }), vm('big', { memoryMiB: 8192 })], policy: { failures: 0 } };
    const p = plan(s, 'place');
    expect(moves(p)).toEqual([{ kind: 'place', vm: 'big', host: 'h1' }]);
    expect(p.unplaced).toEqual([{ vm: 'small', reasons: [{ hosts: ['h1'], constraint: 'memory', detail: 'needs 2048 MiB; these hosts have at most 0 MiB free (memory overcommit x1)', hostCount: 1 }] }]);
  });

  it('counts reservations and CPU overcommit: 8 CPUs, 2 reserved, x2 = 12 vCPUs', () => {
    const s: ClusterSnapshot = { hosts: [host('h1', { reservedCpus: 2 })], vms: [vm('a', { cpus: 8, memoryMiB: 512 }), vm('b', { cpus: 4, memoryMiB: 512 }), vm('c', { cpus: 1, memoryMiB: 512 })], policy: { failures: 0, overcommit: { cpu: 2 } } };
    const p = plan(s, 'place');
    expect(moves(p).map((a) => a.kind === 'place' && a.vm)).toEqual(['a', 'b']);
    expect(p.unplaced[0]!.reasons[0]).toMatchObject({ constraint: 'cpu', detail: 'needs 1 vCPUs; these hosts have at most 0 free (CPU overcommit x2; after up to 2 CPUs held back for the hosts themselves)' });
  });

  it('honours must label rules, and prefers hosts matching should rules', () => {
    const s: ClusterSnapshot = {
      hosts: [host('h1', { labels: { gpu: 'no' } }), host('h2', { labels: { gpu: 'yes' } }), host('h3', { labels: { ssd: 'yes' } })],
      vms: [vm('ml', { hostRules: [{ labels: { gpu: 'yes' }, strength: 'must' }] }), vm('db', { hostRules: [{ labels: { ssd: 'yes' }, strength: 'should' }] })],
      policy: { failures: 0 },
    };
    expect(moves(plan(s, 'place'))).toEqual([
      { kind: 'place', vm: 'ml', host: 'h2' },
      { kind: 'place', vm: 'db', host: 'h3' },
    ]);
  });

  it('keeps must anti-affinity apart and explains the VM left over per host class', () => {
    const s: ClusterSnapshot = {
      hosts: [host('h1'), host('h2'), host('h3', { state: 'maintenance' })],
      vms: [vm('web1'), vm('web2'), vm('web3')],
      groups: [{ id: 'web', kind: 'anti-affinity', strength: 'must', vms: ['web1', 'web2', 'web3'] }],
      policy: { failures: 0 },
    };
    const p = plan(s, 'place');
    expect(new Set(moves(p).map((a) => a.kind === 'place' && a.host))).toEqual(new Set(['h1', 'h2']));
    expect(p.unplaced).toEqual([{
      vm: 'web3',
      reasons: [
        { hosts: ['h1', 'h2'], constraint: 'anti-affinity', detail: 'already runs a VM of must-anti-affinity group web', hostCount: 2 },
        { hosts: ['h3'], constraint: 'host-state', detail: 'host is maintenance, only ready hosts take VMs', hostCount: 1 },
      ],
    }]);
  });

  it('places VMs of a must affinity group together, on a host with room for all of them', () => {
    const s: ClusterSnapshot = {
      hosts: [host('h1', { memoryMiB: 6144 }), host('h2')],
      vms: [vm('app'), vm('cache', { memoryMiB: 2048 })],
      groups: [{ id: 'pair', kind: 'affinity', strength: 'must', vms: ['app', 'cache'] }],
      policy: { failures: 0 },
    };
    expect(moves(plan(s, 'place'))).toEqual([
      { kind: 'place', vm: 'app', host: 'h2' },
      { kind: 'place', vm: 'cache', host: 'h2' },
    ]);
  });

  it('HA admission: keeps room to restart the HA VMs of any one failed host', () => {
    // Two 16 GiB hosts. Two 8 GiB HA VMs fit (one each, and each could restart on the other);
    // a third would leave no room for a restart after a failure.
    const s: ClusterSnapshot = { hosts: [host('h1'), host('h2')], vms: [vm('a', { memoryMiB: 8192, ha: true }), vm('b', { memoryMiB: 8192, ha: true }), vm('c', { memoryMiB: 8192, ha: true })] };
    const p = plan(s, 'place');
    expect(p.actions).toHaveLength(2);
    expect(p.unplaced[0]!.vm).toBe('c');
    expect(p.unplaced[0]!.reasons[0]).toMatchObject({ constraint: 'ha-admission', hostCount: 2 });
    expect(p.metrics).toMatchObject({ haAdmission: 1, haSpareMemoryMiB: 0 });
    expect(plan({ ...s, policy: { failures: 0 } }, 'place').actions).toHaveLength(3);
  });
});

describe('evacuation and HA restart', () => {
  const cluster: ClusterSnapshot = {
    hosts: [host('h1', { maxMigrations: 2 }), host('h2'), host('h3', { labels: { zone: 'b' } })],
    vms: [
      vm('a', { host: 'h1' }), vm('b', { host: 'h1' }), vm('c', { host: 'h1', memoryMiB: 2048 }),
      vm('pinned', { host: 'h1', memoryMiB: 1024, hostRules: [{ labels: { zone: 'a' }, strength: 'must' }] }),
    ],
    policy: { failures: 0 },
  };

  it('empties a host in waves of its migration limit, and says which VM cannot move and why', () => {
    const p = plan(cluster, { evacuate: 'h1' });
    expect(p.actions.map((a) => [a.action.kind, (a.action as { vm: string }).vm, a.wave])).toEqual([
      ['migrate', 'a', 0], ['migrate', 'b', 0], ['migrate', 'c', 1],
    ]);
    expect(p.unplaced).toEqual([{
      vm: 'pinned',
      reasons: [
        { hosts: ['h1'], constraint: 'host-state', detail: 'the host being emptied', hostCount: 1 },
        { hosts: ['h2', 'h3'], constraint: 'host-label', detail: 'host labels do not match the must rule(s) {"zone":"a"}', hostCount: 2 },
      ],
    }]);
    expect(applyPlan(cluster, p).errors).toEqual([]);
  });

  it('restarts the HA VMs of a failed host by priority; the others stay down', () => {
    const s: ClusterSnapshot = {
      hosts: [host('h2', { memoryMiB: 8192 })],
      vms: [vm('low', { host: 'gone', ha: true, priority: 1 }), vm('high', { host: 'gone', ha: true, priority: 9 }), vm('batch', { host: 'gone' }), vm('third', { host: 'gone', ha: true })],
    };
    const p = plan(s, 'ha-restart');
    expect(moves(p)).toEqual([
      { kind: 'restart', vm: 'high', from: 'gone', to: 'h2' },
      { kind: 'restart', vm: 'low', from: 'gone', to: 'h2' },
    ]);
    expect(p.unplaced.map((u) => [u.vm, u.reasons[0]!.constraint])).toEqual([['third', 'memory'], ['batch', 'not-ha']]);
  });
});

describe('applyPlan, the checker', () => {
  it('flags illegal actions: wrong source, a full host, a host not ready, too many migrations in a wave', () => {
    const s: ClusterSnapshot = { hosts: [host('h1', { maxMigrations: 1 }), host('h2', { memoryMiB: 4096 }), host('h3', { state: 'standby' })], vms: [vm('a', { host: 'h1' }), vm('b', { host: 'h1' })], policy: { failures: 0 } };
    const bad: Plan = {
      goal: 'balance', unplaced: [], metrics: {},
      actions: [
        { action: { kind: 'migrate', vm: 'a', from: 'h2', to: 'h2' }, reason: '' },
        { action: { kind: 'migrate', vm: 'a', from: 'h1', to: 'h2' }, reason: '', wave: 0 },
        { action: { kind: 'migrate', vm: 'b', from: 'h1', to: 'h2' }, reason: '', wave: 0 },
        { action: { kind: 'place', vm: 'b', host: 'h3' }, reason: '' },
      ],
    };
    const errors = applyPlan(s, bad).errors.join('\n');
    expect(errors).toContain('wave 0: host h1 runs more than 1 migrations');
    expect(errors).toContain('migrate a: it is on h1, not h2');
    expect(errors).toContain('b: memory on h2 4096+4096 > 4096');
    expect(errors).toContain('b: host h3 is standby');
  });
});
