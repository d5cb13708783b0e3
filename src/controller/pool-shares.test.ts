// What the assignments carry of a VM's resource pool: the CPU weight (a
// cgroup level on the host) and the memory shares (the balloon policy's
// order), each only when the pool sets it.
import { describe, expect, it } from 'vitest';
import type { VmAssignment } from '../api/agent-protocol.js';
import { withPoolShares } from './assignments.js';
import type { ResourcePoolRecord } from './records.js';

const at = '2026-01-01T00:00:00.000Z';
const pool = (name: string, cpu: ResourcePoolRecord['cpu'], memory: ResourcePoolRecord['memory']): ResourcePoolRecord => ({ name, cpu, memory, createdAt: at, updatedAt: at });
const vm = (name: string, resourcePool?: string): VmAssignment => ({
  id: name, name, spec: { image: 'tiny', cpus: 1, maxCpus: 1, memoryMiB: 256, maxMemoryMiB: 256, volumes: [], ports: [], mac: '52:54:00:00:00:01', ...(resourcePool ? { resourcePool } : {}) },
  power: 'running', epoch: 1, rebootSeq: 0, forceStop: false,
});

describe('withPoolShares', () => {
  it('hands each VM its pool\'s CPU weight and memory shares, only those the pool sets', () => {
    const pools = [pool('gold', { shares: 'high' }, { shares: 'low' }), pool('cpu-only', { shares: 1500 }, {}), pool('mem-only', {}, { shares: 3000 }), pool('plain', {}, {})];
    const out = withPoolShares([vm('a', 'gold'), vm('b', 'cpu-only'), vm('c', 'mem-only'), vm('d', 'plain'), vm('e')], pools);
    expect(out.map((a) => [a.name, a.resourcePool, a.memoryShares])).toEqual([
      ['a', { name: 'gold', cpuWeight: 200 }, 500],
      ['b', { name: 'cpu-only', cpuWeight: 150 }, undefined],
      ['c', undefined, 3000],
      ['d', undefined, undefined],
      ['e', undefined, undefined],
    ]);
  });
});
