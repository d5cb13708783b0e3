// Golden scenarios for resource pools in the planner (docs/resource-pools.md):
// placement keeps pool limits and the reservations of other pools; moves of
// VMs already placed are never refused by pools; consolidation leaves enough
// hosts on for the reservations.
import { describe, expect, it } from 'vitest';
import { plan } from './index.js';
import type { ClusterSnapshot, Plan, SnapshotHost, SnapshotVm } from './index.js';

const host = (id: string, over: Partial<SnapshotHost> = {}): SnapshotHost => ({ id, cpus: 8, memoryMiB: 16384, state: 'ready', ...over });
const vm = (id: string, over: Partial<SnapshotVm> = {}): SnapshotVm => ({ id, cpus: 2, memoryMiB: 4096, host: null, ...over });
const placed = (p: Plan) => p.actions.flatMap((a) => (a.action.kind === 'place' ? [a.action.vm] : [])).sort();

describe('placement with resource pools', () => {
  it('refuses a placement over a pool limit, or its parent limit, and says why', () => {
    const s: ClusterSnapshot = {
      hosts: [host('h1'), host('h2')],
      pools: [{ id: 'prod', memory: { limitMiB: 12288 } }, { id: 'web', parent: 'prod', cpu: { limitCores: 4 } }],
      vms: [vm('w1', { host: 'h1', pool: 'web' }), vm('w2', { pool: 'web' }), vm('w3', { pool: 'web' }), vm('p1', { pool: 'prod' }), vm('p2', { pool: 'prod' })],
      policy: { failures: 0 },
    };
    const p = plan(s, 'place');
    // w2 fits web's 4 cores (w1 + w2); p1 fits prod's 12 GiB; w3 breaks web's CPU limit and p2 prod's memory limit.
    expect(placed(p)).toEqual(['p1', 'w2']);
    const why = Object.fromEntries(p.unplaced.map((u) => [u.vm, u.reasons[0]!]));
    expect(why.w3).toMatchObject({ constraint: 'pool-limit', hostCount: 2, detail: expect.stringMatching(/placing VM w3 would exceed the CPU limit of resource pool web \(4 cores\): its VMs would come to 6 cores \(now 4 cores\)/) });
    expect(why.p2).toMatchObject({ constraint: 'pool-limit', detail: expect.stringMatching(/memory limit of resource pool prod \(12288 MiB\)/) });
  });

  it('keeps the unused reservations of other pools free; a VM may use its own pool reservation', () => {
    const s: ClusterSnapshot = {
      hosts: [host('h1', { memoryMiB: 16384 })],
      pools: [{ id: 'gold', memory: { reservationMiB: 8192 } }],
      vms: [vm('outside-1', { memoryMiB: 8192 }), vm('outside-2', { memoryMiB: 2048 }), vm('g1', { memoryMiB: 6144, pool: 'gold' })],
      policy: { failures: 0 },
    };
    const p = plan(s, 'place');
    expect(placed(p)).toEqual(['g1', 'outside-1']);
    expect(p.unplaced[0]).toMatchObject({ vm: 'outside-2', reasons: [{ constraint: 'pool-reservation', detail: expect.stringMatching(/less than the 2048 MiB that resource pools reserve and do not use \(gold 2048 MiB\)/) }] });
  });

  it('never refuses moving a VM that holds resources already, even in a pool over its limit', () => {
    const s: ClusterSnapshot = {
      hosts: [host('h1'), host('h2')],
      pools: [{ id: 'p', cpu: { limitCores: 1 } }],
      vms: [vm('a', { host: 'h1', pool: 'p' }), vm('b', { host: 'h1', pool: 'p' })],
      policy: { failures: 0 },
    };
    const p = plan(s, { evacuate: 'h1' });
    expect(p.unplaced).toEqual([]);
    expect(p.actions.map((a) => a.action.kind)).toEqual(['migrate', 'migrate']);
  });
});

describe('consolidation with resource pools', () => {
  const hosts = [host('h1', { cpus: 4 }), host('h2', { cpus: 4 }), host('h3', { cpus: 4 })];
  const vms = [vm('a', { host: 'h1', cpus: 1, memoryMiB: 1024 }), vm('b', { host: 'h2', cpus: 1, memoryMiB: 1024 })];
  const standby = (p: Plan) => p.actions.flatMap((a) => (a.action.kind === 'standby' ? [a.action.host] : []));

  it('puts idle hosts to standby when nothing is reserved', () => {
    expect(standby(plan({ hosts, vms, policy: { failures: 0 } }, 'consolidate'))).toHaveLength(2);
  });
  it('keeps the physical capacity for the top-level reservations (unused ones included)', () => {
    // 24 GiB reserved by prod (its children's reservations count when it has none): two 16 GiB hosts stay on.
    const pools = [{ id: 'prod' }, { id: 'web', parent: 'prod', memory: { reservationMiB: 16384 } }, { id: 'db', parent: 'prod', memory: { reservationMiB: 8192 } }];
    expect(standby(plan({ hosts, vms, pools, policy: { failures: 0 } }, 'consolidate'))).toHaveLength(1);
    const all = [{ id: 'big', cpu: { reservationCores: 9 } }];
    expect(standby(plan({ hosts, vms, pools: all, policy: { failures: 0 } }, 'consolidate'))).toEqual([]);
  });

  it('wakes standby hosts now when the hosts on offer less than the reservations', () => {
    // 20 GiB reserved; h1 alone is on (16 GiB): h2 (the first standby host) wakes, and it is enough.
    const asleep = [host('h1', { cpus: 4 }), host('h2', { cpus: 4, state: 'standby' }), host('h3', { cpus: 4, state: 'standby' })];
    const pools = [{ id: 'prod', memory: { reservationMiB: 20480 } }];
    const p = plan({ hosts: asleep, vms: [vm('a', { host: 'h1', cpus: 1, memoryMiB: 1024 })], pools, policy: { failures: 0 } }, 'consolidate');
    expect(p.actions.map((a) => a.action)).toEqual([{ kind: 'power-on', host: 'h2' }]);
    expect(p.actions[0]!.reason).toBe('power: the resource pools reserve 0 cores and 20480 MiB; the hosts on have 4 cores and 16384 MiB; wake h2');
  });
});
