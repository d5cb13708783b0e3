// The live snapshot from the controller's records (pure part), and the CPU
// use derived from two reports.
import { describe, expect, it } from 'vitest';
import type { HostInventory } from '../api/resources.js';
import { validateSnapshot } from '../core/planner/index.js';
import { buildClusterSnapshot, type VmUsage } from './cluster-snapshot.js';
import { LiveState } from './live-state.js';
import type { HostRecord, JobRecord, MigrationRecord, VmMigrationState, VmRecord, VolumeRecord } from './records.js';

const at = '2026-01-01T00:00:00.000Z';
const inventory: HostInventory = { hostname: 'x', cpus: 4, memoryMiB: 8192, kvm: false, qemuVersion: '7.2.0', freeDiskBytes: 1e10, agentVersion: 't' };
const host = (id: string, state: HostRecord['state'], inv: HostInventory | null = inventory): HostRecord => ({
  id, name: `n-${id}`, state, agentUrl: 'http://127.0.0.1:1', createdAt: at, credentialHash: '', credentialGeneration: 1, ...(inv ? { inventory: inv } : {}),
});
const spec = { image: 'tiny', cpus: 2, maxCpus: 2, memoryMiB: 1024, maxMemoryMiB: 2048, volumes: [], ports: [], mac: '52:54:00:00:00:01' };
const vm = (id: string, hostId: string | null, over: Partial<VmRecord> = {}): VmRecord => ({
  id, name: `vm-${id}`, spec, phase: 'Running', intent: 'running', hostId, epoch: 1, rebootSeq: 0, forceStop: false, createdAt: at, updatedAt: at, ...over,
});
const inFlight: VmMigrationState = {
  id: 'mig-9', stage: 'transfer', sourceHostId: 'h1', targetHostId: 'h2', sourceEpoch: 1, targetEpoch: 2, storage: 'local', strategy: 'auto', maxDowntimeMs: 300, allowPostcopy: false, listenHost: '127.0.0.1',
};
const migration = (id: string, vmId: string, state: MigrationRecord['state'], updatedAt: string): MigrationRecord => ({
  id, vmId, vm: vmId, sourceHostId: 'h2', targetHostId: 'h1', source: 'n-h2', target: 'n-h1', storage: 'local', strategy: 'auto', maxDowntimeMs: 300,
  allowPostcopy: false, timeoutS: 600, state, path: [], jobId: 'j', createdAt: at, updatedAt,
});
const volume = (id: string, vmId: string, pool: VolumeRecord['pool'], actualSizeBytes: number): VolumeRecord => ({
  id, vmId, hostId: 'h1', pool, role: 'boot', path: `/p/${id}`, format: 'qcow2', virtualSizeBytes: 2 ** 30, actualSizeBytes,
});

describe('the live cluster snapshot for goal grow', () => {
  const job = (id: string, vmId: string, state: JobRecord['state'], updatedAt: string, kind = 'vm.resize'): JobRecord => ({
    id, kind, target: vmId, state, steps: [], params: { vmId }, createdAt: at, updatedAt,
  });
  it('carries maxCpus when a VM can grow, and when it was last resized (a resize running counts as now)', () => {
    const nowMs = Date.parse('2026-01-01T01:00:00.000Z');
    const s = buildClusterSnapshot({
      nowMs, hosts: [host('h1', 'Ready')], migrations: [], volumes: [], usage: () => ({}),
      vms: [vm('a', 'h1', { spec: { ...spec, maxCpus: 4 } }), vm('b', 'h1', { spec: { ...spec, maxCpus: 4 } }), vm('c', 'h1')],
      jobs: [
        job('j1', 'a', 'succeeded', '2026-01-01T00:10:00.000Z'), job('j2', 'a', 'rolled-back', '2026-01-01T00:20:00.000Z'),
        job('j3', 'b', 'running', '2026-01-01T00:00:05.000Z'), job('j4', 'c', 'succeeded', '2026-01-01T00:30:00.000Z', 'vm.migrate'),
      ],
    });
    expect(s.vms.map((v) => [v.id, v.maxCpus, v.lastResizedAtMs])).toEqual([
      ['a', 4, Date.parse('2026-01-01T00:20:00.000Z')],
      ['b', 4, nowMs],
      ['c', undefined, undefined],
    ]);
  });
});

describe('the live cluster snapshot', () => {
  const usage: Record<string, VmUsage> = { a: { cpuCores: 0.12345, rssBytes: 600 * 2 ** 20 }, b: { cpuCores: 7, rssBytes: 4000 * 2 ** 20 } };
  const s = buildClusterSnapshot({
    nowMs: 1_767_225_600_000,
    hosts: [host('h1', 'Ready'), host('h2', 'Maintenance'), host('h3', 'Standby'), host('h4', 'Unreachable'), host('h5', 'Ready', null), host('h6', 'Left')],
    vms: [
      vm('a', 'h1'),
      vm('b', 'h1', { migration: inFlight }),
      vm('c', 'h4', { phase: 'Paused' }),
      vm('d', 'h1', { phase: 'Stopped' }),
      vm('e', 'h2', { phase: 'Pending' }),
    ],
    migrations: [
      migration('m1', 'a', 'completed', '2026-01-01T00:10:00.000Z'),
      migration('m2', 'a', 'completed', '2026-01-01T00:20:00.000Z'),
      migration('m3', 'a', 'failed', '2026-01-01T00:30:00.000Z'),
      migration('m4', 'e', 'cancelled', '2026-01-01T00:30:00.000Z'),
    ],
    volumes: [volume('v1', 'a', 'local', 2 ** 30), volume('v2', 'a', 'local', 2 ** 29), volume('v3', 'b', 'shared', 2 ** 30)],
    usage: (v) => usage[v.id] ?? {},
    policy: { balance: { maxMoves: 3, automation: 'recommend' } },
  });

  it('takes Ready, Maintenance and Standby hosts that reported an inventory', () => {
    expect(s.hosts).toEqual([
      { id: 'h1', name: 'n-h1', cpus: 4, memoryMiB: 8192, state: 'ready' },
      { id: 'h2', name: 'n-h2', cpus: 4, memoryMiB: 8192, state: 'maintenance' },
      { id: 'h3', name: 'n-h3', cpus: 4, memoryMiB: 8192, state: 'standby' },
    ]);
  });

  it('takes the VMs that hold resources, with measured use (capped at the allocation), disk to mirror, last move and migration in flight', () => {
    expect(s.vms).toEqual([
      { id: 'a', name: 'vm-a', cpus: 2, memoryMiB: 1024, host: 'h1', cpuUsage: 0.123, memoryUsageMiB: 600, localDiskGiB: 1.5, lastMovedAtMs: Date.parse('2026-01-01T00:20:00.000Z') },
      { id: 'b', name: 'vm-b', cpus: 2, memoryMiB: 1024, host: 'h1', cpuUsage: 2, memoryUsageMiB: 1024, migratingTo: 'h2' },
      // Its host is Unreachable (left out): the planner reads it as on a failed host.
      { id: 'c', name: 'vm-c', cpus: 2, memoryMiB: 1024, host: 'h4' },
      { id: 'e', name: 'vm-e', cpus: 2, memoryMiB: 1024, host: 'h2' },
    ]);
    expect(s.nowMs).toBe(1_767_225_600_000);
    expect(s.policy).toEqual({ balance: { maxMoves: 3, automation: 'recommend' } });
  });

  it('is a valid planner snapshot', () => {
    expect(validateSnapshot(JSON.parse(JSON.stringify(s)))).toEqual(s);
  });
});

describe('the constraints in the live snapshot', () => {
  const s = buildClusterSnapshot({
    nowMs: 0,
    hosts: [{ ...host('h1', 'Ready'), labels: { zone: 'a' } }, { ...host('h2', 'Ready'), labels: {} }],
    vms: [
      vm('a', 'h1', { spec: { ...spec, ha: true, haPriority: 7, hostRules: [{ labels: { zone: 'a' }, strength: 'must' }] } }),
      vm('b', 'h2', { spec: { ...spec, ha: false, haPriority: 0, hostRules: [] } }),
      vm('off', 'h2', { phase: 'Stopped' }),
    ],
    groups: [
      { name: 'web', kind: 'anti-affinity', strength: 'must', vmIds: ['a', 'b', 'off', 'gone'], createdAt: at, updatedAt: at },
      { name: 'empty', kind: 'affinity', strength: 'should', vmIds: [], createdAt: at, updatedAt: at },
    ],
    migrations: [], volumes: [], usage: () => ({}),
  });

  it('carries host labels, HA flag and priority, host rules, and groups with the members that hold resources', () => {
    expect(s.hosts.map((h) => h.labels)).toEqual([{ zone: 'a' }, undefined]);
    expect(s.vms).toEqual([
      { id: 'a', name: 'vm-a', cpus: 2, memoryMiB: 1024, host: 'h1', ha: true, priority: 7, hostRules: [{ labels: { zone: 'a' }, strength: 'must' }], groups: ['web'] },
      { id: 'b', name: 'vm-b', cpus: 2, memoryMiB: 1024, host: 'h2', groups: ['web'] },
    ]);
    expect(s.groups).toEqual([
      { id: 'web', kind: 'anti-affinity', strength: 'must', vms: ['a', 'b'] },
      { id: 'empty', kind: 'affinity', strength: 'should', vms: [] },
    ]);
    expect(validateSnapshot(JSON.parse(JSON.stringify(s)))).toEqual(s);
  });
});

describe('host reservations in the live snapshot', () => {
  const snap = (inv: HostInventory) => buildClusterSnapshot({ nowMs: 0, hosts: [host('h1', 'Ready', inv)], vms: [], migrations: [], volumes: [], usage: () => ({}) });

  it('carries what the agent holds back for the host itself', () => {
    const s = snap({ ...inventory, reservedCpus: 1, reservedMemoryMiB: 2048 });
    expect(s.hosts).toEqual([{ id: 'h1', name: 'n-h1', cpus: 4, memoryMiB: 8192, reservedCpus: 1, reservedMemoryMiB: 2048, state: 'ready' }]);
    expect(validateSnapshot(JSON.parse(JSON.stringify(s)))).toEqual(s);
  });

  it('leaves out a reservation of 0, and keeps one that is not below the total valid for the planner', () => {
    expect(snap({ ...inventory, reservedCpus: 0, reservedMemoryMiB: 0 }).hosts[0]).toEqual({ id: 'h1', name: 'n-h1', cpus: 4, memoryMiB: 8192, state: 'ready' });
    const s = snap({ ...inventory, reservedCpus: 9, reservedMemoryMiB: 8192 });
    expect(s.hosts[0]).toMatchObject({ reservedCpus: 3, reservedMemoryMiB: 8191 });
    expect(validateSnapshot(JSON.parse(JSON.stringify(s)))).toEqual(s);
  });
});

describe('CPU use from reports', () => {
  it('is the CPU time between two reports of the same QEMU over the time between them', () => {
    const live = new LiveState();
    live.recordStats('h1', new Map([['a', { cpuSeconds: 10, rssBytes: 1 }], ['b', { cpuSeconds: 50, rssBytes: 1 }]]), 1000);
    expect(live.vmCpuRate('h1', 'a')).toBeUndefined();
    live.recordStats('h1', new Map([['a', { cpuSeconds: 13, rssBytes: 1 }], ['b', { cpuSeconds: 2, rssBytes: 1 }], ['c', { cpuSeconds: 1, rssBytes: 1 }]]), 3000);
    expect(live.vmCpuRate('h1', 'a')).toBe(1.5);
    // b restarted (its CPU time went back) and c is new: no rate until the next report.
    expect(live.vmCpuRate('h1', 'b')).toBeUndefined();
    expect(live.vmCpuRate('h1', 'c')).toBeUndefined();
    expect(live.vmCpuRate(null, 'a')).toBeUndefined();
    expect(live.vmStats('h1', 'b')).toEqual({ cpuSeconds: 2, rssBytes: 1 });
  });
});
