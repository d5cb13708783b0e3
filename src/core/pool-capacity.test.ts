import { describe, expect, it } from 'vitest';
import { VM_PHASES, type VmPhase } from './phase.js';
import { CapacityInputError, hostUsage, poolCapacity, usesResources, type CapacityHost, type CapacityVm } from './pool-capacity.js';

const host = (id: string, state = 'Ready', over: Partial<CapacityHost> = {}): CapacityHost => ({ id, state, cpus: 4, memoryMiB: 8192, ...over });
const vm = (hostId: string | null, phase: VmPhase = 'Running', cpus = 1, memoryMiB = 256): CapacityVm => ({ hostId, phase, cpus, memoryMiB });
const STATES = ['Joining', 'Ready', 'Unreachable', 'Maintenance', 'Standby', 'Left'];

describe('usesResources', () => {
  it('counts VMs whose QEMU runs or may run, and created ones not yet started', () => {
    const using = VM_PHASES.filter(usesResources);
    expect(using).toEqual(['Pending', 'Starting', 'Running', 'Paused', 'Stopping']);
    expect(VM_PHASES.filter((p) => !usesResources(p))).toEqual(['Stopped', 'Failed', 'Deleting']);
  });
});

describe('hostUsage', () => {
  it('sums the vCPUs and memory of the active VMs of each host, and counts all its VMs', () => {
    const u = hostUsage([host('a'), host('b')], [vm('a', 'Running', 2, 512), vm('a', 'Paused', 1, 256), vm('a', 'Stopped', 4, 1024), vm('b', 'Failed'), vm(null, 'Pending')]);
    expect(u.get('a')).toEqual({ cpus: 3, memoryMiB: 768, vms: 3, activeVms: 2 });
    expect(u.get('b')).toEqual({ cpus: 0, memoryMiB: 0, vms: 1, activeVms: 0 });
  });

  it('gives an empty usage to a host without VMs and ignores VMs on unknown hosts', () => {
    const u = hostUsage([host('a')], [vm('ghost')]);
    expect([...u.entries()]).toEqual([['a', { cpus: 0, memoryMiB: 0, vms: 0, activeVms: 0 }]]);
  });
});

describe('poolCapacity', () => {
  it('counts only Ready hosts in the totals, and every host by state', () => {
    const hosts = [host('a'), host('b', 'Ready', { reservedCpus: 1, reservedMemoryMiB: 1024 }), host('c', 'Unreachable'), host('d', 'Maintenance'), host('e', 'Left')];
    const vms = [vm('a', 'Running', 2, 512), vm('b', 'Starting', 1, 256), vm('c', 'Running', 2, 2048), vm('d', 'Stopped'), vm(null, 'Pending')];
    const { pool, hosts: usage } = poolCapacity(hosts, vms, STATES);
    expect(pool.hosts).toEqual({ total: 5, schedulable: 2, byState: { Joining: 0, Ready: 2, Unreachable: 1, Maintenance: 1, Standby: 0, Left: 1 } });
    expect(pool.cpus).toEqual({ total: 8, reserved: 1, used: 3, free: 4 });
    expect(pool.memoryMiB).toEqual({ total: 16384, reserved: 1024, used: 768, free: 14592 });
    expect(pool.vms).toEqual({ total: 5, active: 4, activeOutsidePool: 2 });
    expect(usage.get('c')).toEqual({ cpus: 2, memoryMiB: 2048, vms: 1, activeVms: 1 });
  });

  it('never reports negative free room when vCPUs are overcommitted', () => {
    const { pool } = poolCapacity([host('a', 'Ready', { cpus: 2 })], [vm('a', 'Running', 2), vm('a', 'Running', 2)]);
    expect(pool.cpus).toEqual({ total: 2, reserved: 0, used: 4, free: 0 });
  });

  it('is all zeros for an empty cluster; states not listed still get counted', () => {
    const empty = poolCapacity([], []).pool;
    expect(empty).toEqual({
      hosts: { total: 0, schedulable: 0, byState: {} },
      cpus: { total: 0, reserved: 0, used: 0, free: 0 },
      memoryMiB: { total: 0, reserved: 0, used: 0, free: 0 },
      vms: { total: 0, active: 0, activeOutsidePool: 0 },
    });
    expect(poolCapacity([host('a', 'Joining')], []).pool.hosts.byState).toEqual({ Joining: 1 });
  });

  it('refuses bad input with an error naming the field', () => {
    const cases: Array<[CapacityHost[], CapacityVm[], string]> = [
      [[host('a', 'Ready', { cpus: -1 })], [], 'hosts[0].cpus'],
      [[host('a'), host('b', 'Ready', { memoryMiB: 1.5 })], [], 'hosts[1].memoryMiB'],
      [[host('a', 'Ready', { reservedCpus: 5 })], [], 'hosts[0].reservedCpus'],
      [[host('a', 'Ready', { reservedMemoryMiB: 9000 })], [], 'hosts[0].reservedMemoryMiB'],
      [[host('a'), host('a')], [], 'hosts[1].id'],
      [[host('')], [], 'hosts[0].id'],
      [[host('a', '')], [], 'hosts[0].state'],
      [[host('a')], [vm('a', 'Running', 0)], 'vms[0].cpus'],
      [[host('a')], [vm('a'), vm('a', 'Running', 1, Number.NaN)], 'vms[1].memoryMiB'],
    ];
    for (const [hosts, vms, field] of cases) {
      const err = (() => {
        try {
          poolCapacity(hosts, vms);
          return undefined;
        } catch (e) {
          return e;
        }
      })();
      expect(err, field).toBeInstanceOf(CapacityInputError);
      expect(err, field).toMatchObject({ field, message: expect.stringContaining(field) });
    }
  });
});
