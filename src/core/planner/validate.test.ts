// Snapshot validation names the first bad field and what it must be.
import { describe, expect, it } from 'vitest';
import { SnapshotError, validateSnapshot } from './validate.js';

const ok = {
  nowMs: 0,
  hosts: [{ id: 'h1', cpus: 8, memoryMiB: 16384, state: 'ready', labels: { zone: 'a' } }],
  vms: [{ id: 'v1', cpus: 2, memoryMiB: 2048, host: 'h1', groups: ['g'], hostRules: [{ labels: { zone: 'a' }, strength: 'must' }] }],
  groups: [{ id: 'g', kind: 'anti-affinity', strength: 'must', vms: ['v1'] }],
  policy: { overcommit: { cpu: 4 }, failures: 1, balance: { automation: 'recommend' } },
  forecast: [{ atMs: 1, cpu: 2, memoryMiB: 10 }],
};

function problem(change: (s: typeof ok) => unknown): string {
  try {
    validateSnapshot(change(structuredClone(ok)));
  } catch (e) {
    expect(e).toBeInstanceOf(SnapshotError);
    return (e as Error).message;
  }
  return 'valid';
}

describe('validateSnapshot', () => {
  it('accepts a good snapshot, and VMs on hosts it does not list (failed hosts)', () => {
    expect(validateSnapshot(ok)).toBe(ok);
    expect(problem((s) => ({ ...s, vms: [{ ...s.vms[0], host: 'gone' }] }))).toBe('valid');
  });

  it('names the field at fault', () => {
    expect(problem((s) => ({ ...s, hosts: [s.hosts[0], { ...s.hosts[0], id: 'h2', memoryMiB: 0 }] }))).toBe('hosts[1].memoryMiB must be a positive integer');
    expect(problem((s) => ({ ...s, hosts: [{ ...s.hosts[0], state: 'Ready' }] }))).toBe('hosts[0].state must be one of "ready", "maintenance", "standby"');
    expect(problem((s) => ({ ...s, hosts: [s.hosts[0], s.hosts[0]] }))).toBe('hosts[1].id repeats id "h1"');
    expect(problem((s) => ({ ...s, vms: [{ ...s.vms[0], cpus: 1.5 }] }))).toBe('vms[0].cpus must be a positive integer');
    expect(problem((s) => ({ ...s, vms: [{ ...s.vms[0], groups: ['nope'] }] }))).toBe('vms[0].groups[0] must name a group in groups (got "nope")');
    expect(problem((s) => ({ ...s, vms: [{ ...s.vms[0], hostRules: [{ labels: { zone: 'a' }, strength: 'may' }] }] }))).toBe('vms[0].hostRules[0].strength must be one of "must", "should"');
    expect(problem((s) => ({ ...s, groups: [{ ...s.groups[0], vms: ['v9'] }] }))).toBe('groups[0].vms[0] must name a VM in vms (got "v9")');
    expect(problem((s) => ({ ...s, policy: { headroom: 1.5 } }))).toBe('policy.headroom must be below 1 (a fraction of capacity)');
    expect(problem((s) => ({ ...s, hosts: undefined }))).toBe('hosts must be an array');
    expect(problem((s) => ({ ...s, forecast: [{ atMs: 1, cpu: -1, memoryMiB: 0 }] }))).toBe('forecast[0].cpu must be >= 0');
    expect(problem((s) => ({ ...s, hosts: [{ ...s.hosts[0], reservedMemoryMiB: 16384 }] }))).toBe('hosts[0].reservedMemoryMiB must be less than memoryMiB');
  });

  it('names the field at fault in pools, grow fields and the grow policy', () => {
    const pools = [{ id: 'prod', cpu: { reservationCores: 4 } }, { id: 'gold', parent: 'prod', memory: { reservationMiB: 1024, limitMiB: 4096 } }];
    expect(problem((s) => ({ ...s, pools, vms: [{ ...s.vms[0], pool: 'gold' }] }))).toBe('valid');
    expect(problem((s) => ({ ...s, pools, vms: [{ ...s.vms[0], pool: 'silver' }] }))).toBe('vms[0].pool must name a pool in pools (got "silver")');
    expect(problem((s) => ({ ...s, pools: [pools[0], pools[0]] }))).toBe('pools[1].id repeats id "prod"');
    expect(problem((s) => ({ ...s, pools: [{ id: 'a', parent: 'b' }] }))).toBe('pools[0].parent must name another pool in pools (got "b")');
    expect(problem((s) => ({ ...s, pools: [...pools, { id: 'tin', parent: 'gold' }] }))).toBe('pools[2].parent must be a top-level pool (gold has a parent itself: one level of nesting)');
    expect(problem((s) => ({ ...s, pools: [{ id: 'a', memory: { reservationMiB: 2048, limitMiB: 1024 } }] }))).toBe('pools[0].memory.reservationMiB must be at most limitMiB (1024)');
    expect(problem((s) => ({ ...s, pools: [{ id: 'a', cpu: { limitCores: -1 } }] }))).toBe('pools[0].cpu.limitCores must be >= 0');
    expect(problem((s) => ({ ...s, vms: [{ ...s.vms[0], maxCpus: 1 }] }))).toBe('vms[0].maxCpus must be >= cpus');
    expect(problem((s) => ({ ...s, policy: { grow: { cpuAt: 1.5 } } }))).toBe("policy.grow.cpuAt must be at most 1 (a fraction of the VM's vCPUs)");
  });
});
