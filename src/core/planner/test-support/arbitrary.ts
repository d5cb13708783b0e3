// Random cluster snapshots for the planner's property tests (fast-check).
// Small clusters with every feature switched on at random: host states,
// labels, reservations, local disk, groups of both kinds and strengths, HA,
// measured usage, dirty rates, cooldowns and policies.
import fc from 'fast-check';
import type { ClusterSnapshot, SnapshotGroup, SnapshotHost, SnapshotVm } from '../snapshot.js';

const hostArb = (i: number): fc.Arbitrary<SnapshotHost> =>
  fc.record({
    cpus: fc.constantFrom(2, 4, 8, 16),
    memoryMiB: fc.constantFrom(4096, 8192, 16384, 32768),
    state: fc.constantFrom('ready', 'ready', 'ready', 'ready', 'maintenance', 'standby'),
    zone: fc.constantFrom('a', 'b', undefined),
    reserved: fc.constantFrom(0, 0, 512),
    maxMigrations: fc.constantFrom(1, 2, 3, undefined),
    diskGiB: fc.constantFrom(undefined, 50, 200),
    bootSeconds: fc.constantFrom(undefined, 60, 300),
  }).map((h) => ({
    id: `h${i}`,
    cpus: h.cpus,
    memoryMiB: h.memoryMiB,
    state: h.state as SnapshotHost['state'],
    ...(h.zone ? { labels: { zone: h.zone } } : {}),
    ...(h.reserved ? { reservedMemoryMiB: h.reserved } : {}),
    ...(h.maxMigrations ? { maxMigrations: h.maxMigrations } : {}),
    ...(h.diskGiB !== undefined ? { diskGiB: h.diskGiB } : {}),
    ...(h.bootSeconds !== undefined ? { bootSeconds: h.bootSeconds } : {}),
  }));

const vmArb = (i: number): fc.Arbitrary<SnapshotVm> =>
  fc.record({
    cpus: fc.integer({ min: 1, max: 4 }),
    memoryMiB: fc.constantFrom(512, 1024, 2048, 4096, 8192),
    ha: fc.boolean(),
    usage: fc.option(fc.double({ min: 0, max: 1, noNaN: true }), { nil: undefined }),
    disk: fc.constantFrom(undefined, undefined, 10, 40),
    rule: fc.constantFrom(undefined, undefined, undefined, { labels: { zone: 'a' }, strength: 'must' as const }, { labels: { zone: 'b' }, strength: 'should' as const }),
    dirty: fc.constantFrom(undefined, 0, 50, 950),
    lastMoved: fc.constantFrom(undefined, undefined, -600_000, -7_200_000),
    priority: fc.constantFrom(undefined, 0, 5),
  }).map((v) => ({
    id: `v${i}`,
    cpus: v.cpus,
    memoryMiB: v.memoryMiB,
    host: null,
    ha: v.ha,
    ...(v.usage !== undefined ? { cpuUsage: v.usage * v.cpus, memoryUsageMiB: Math.round(v.usage * v.memoryMiB) } : {}),
    ...(v.disk !== undefined ? { localDiskGiB: v.disk } : {}),
    ...(v.rule ? { hostRules: [v.rule] } : {}),
    ...(v.dirty !== undefined ? { dirtyMiBs: v.dirty } : {}),
    ...(v.lastMoved !== undefined ? { lastMovedAtMs: 10_000_000 + v.lastMoved } : {}),
    ...(v.priority !== undefined ? { priority: v.priority } : {}),
  }));

function groupsArb(vms: number): fc.Arbitrary<SnapshotGroup[]> {
  if (vms < 2) return fc.constant([]);
  const one = fc.record({
    kind: fc.constantFrom('affinity', 'anti-affinity', 'anti-affinity'),
    strength: fc.constantFrom('must', 'should'),
    members: fc.uniqueArray(fc.integer({ min: 0, max: vms - 1 }), { minLength: 2, maxLength: Math.min(4, vms) }),
  });
  return fc.array(one, { maxLength: 3 }).map((gs) =>
    gs.map((g, i) => ({ id: `g${i}`, kind: g.kind as SnapshotGroup['kind'], strength: g.strength as SnapshotGroup['strength'], vms: g.members.map((m) => `v${m}`) })),
  );
}

const policyArb = fc.record({
  failures: fc.constantFrom(0, 1, 1, 2),
  cpu: fc.constantFrom(1, 2, 4),
  placement: fc.constantFrom('spread', 'pack'),
  threshold: fc.constantFrom(0.02, 0.1),
  headroom: fc.constantFrom(0, 0.2),
  maxMoves: fc.constantFrom(3, 8),
});

/** A snapshot whose VMs are all unplaced (place them with the planner to get a legal start). */
export const snapshotArb: fc.Arbitrary<ClusterSnapshot> = fc
  .integer({ min: 1, max: 7 })
  .chain((hosts) => fc.record({ hosts: fc.constant(hosts), vms: fc.integer({ min: 0, max: 4 * hosts }) }))
  .chain(({ hosts, vms }) =>
    fc.record({
      hosts: fc.tuple(...Array.from({ length: hosts }, (_, i) => hostArb(i))).map((t): SnapshotHost[] => [...t]),
      vms: vms === 0 ? fc.constant<SnapshotVm[]>([]) : fc.tuple(...Array.from({ length: vms }, (_, i) => vmArb(i))).map((t): SnapshotVm[] => [...t]),
      groups: groupsArb(vms),
      policy: policyArb,
    }),
  )
  .map(({ hosts, vms, groups, policy }) => ({
    nowMs: 10_000_000,
    hosts,
    vms,
    groups,
    policy: {
      failures: policy.failures,
      overcommit: { cpu: policy.cpu },
      placement: policy.placement as 'spread' | 'pack',
      headroom: policy.headroom,
      balance: { threshold: policy.threshold, maxMoves: policy.maxMoves, cooldownMs: 3_600_000 },
    },
  }));
