// One VM placed by the planner on the live snapshot: spreading, exclusions
// the controller knows, host rules, groups, and the explanations.
import { describe, expect, it } from 'vitest';
import type { SnapshotVm } from '../core/planner/index.js';
import { buildClusterSnapshot } from './cluster-snapshot.js';
import { placeOne, placementSnapshot, refusalOn, withExclusions } from './plan-placement.js';
import type { GroupRecord, HostRecord, VmRecord } from './records.js';

const at = '2026-01-01T00:00:00.000Z';
function host(id: string, memoryMiB: number, labels?: Record<string, string>): HostRecord {
  return { id, name: `name-${id}`, state: 'Ready', agentUrl: 'http://x', inventory: { hostname: id, cpus: 4, memoryMiB, kvm: false, qemuVersion: '7.2', freeDiskBytes: 1e12, agentVersion: '0' }, ...(labels ? { labels } : {}) } as unknown as HostRecord;
}
function vm(id: string, hostId: string, memoryMiB: number, phase: VmRecord['phase'] = 'Running'): VmRecord {
  const spec = { image: 'tiny', cpus: 1, maxCpus: 1, memoryMiB, maxMemoryMiB: memoryMiB, volumes: [], ports: [], mac: '52:54:00:00:00:01' };
  return { id, name: id, spec, phase, intent: 'running', hostId, epoch: 1, rebootSeq: 0, forceStop: false, createdAt: at, updatedAt: at };
}
const group = (name: string, kind: GroupRecord['kind'], vmIds: string[], strength: GroupRecord['strength'] = 'must'): GroupRecord => ({ name, kind, strength, vmIds, createdAt: at, updatedAt: at });
const snap = (hosts: HostRecord[], vms: VmRecord[], groups: GroupRecord[] = []) => buildClusterSnapshot({ hosts, vms, groups, migrations: [], volumes: [], usage: () => ({ rssBytes: 4000 * 2 ** 20 }), nowMs: 0 });
const fresh = (over: Partial<SnapshotVm> = {}): SnapshotVm => ({ id: 'new', name: 'new', cpus: 1, memoryMiB: 512, host: null, ...over });

describe('placement by the planner', () => {
  it('spreads by allocation: the new VM goes to the least loaded host; stopped VMs hold nothing', () => {
    const base = snap([host('a', 4096), host('b', 4096)], [vm('x', 'a', 1024), vm('y', 'b', 2048), vm('z', 'a', 2048, 'Stopped')]);
    expect(placeOne(base, fresh(), new Map())).toEqual({ hostId: 'a' });
    const s = placementSnapshot(base, fresh(), new Map());
    expect(s.vms.map((v) => v.id)).toEqual(['x', 'y', 'new']);
    // Measured use is left out: placement spreads what VMs were promised.
    expect(s.vms.every((v) => v.memoryUsageMiB === undefined)).toBe(true);
    expect(s.policy).toMatchObject({ failures: 0, placement: 'spread' });
  });

  it('says why no host can take it, by host name', () => {
    const r = placeOne(snap([host('a', 1024)], [vm('x', 'a', 768)]), fresh(), new Map());
    expect('why' in r && r.why).toEqual({ text: expect.stringMatching(/^name-a: needs 512 MiB; these hosts have at most 256 MiB free/), constraints: ['memory'] });
  });

  it('never picks an excluded host, and gives the controller\'s reason for it', () => {
    const base = snap([host('a', 4096), host('b', 8192)], []);
    expect(placeOne(base, fresh(), new Map([['b', 'it does not hold image tiny']]))).toEqual({ hostId: 'a' });
    const r = placeOne(base, fresh({ memoryMiB: 6000 }), new Map([['b', 'it does not hold image tiny']]));
    expect('why' in r && r.why.text).toBe('name-a: needs 6000 MiB; these hosts have at most 4096 MiB free (memory overcommit x1); name-b: it does not hold image tiny');
    expect('why' in r && r.why.constraints.sort()).toEqual(['excluded', 'memory']);
  });

  it('honours must host rules and explains them without the synthetic exclusion rule', () => {
    const base = snap([host('a', 8192), host('b', 4096, { zone: 'z1' }), host('c', 4096)], []);
    const rule = { hostRules: [{ labels: { zone: 'z1' }, strength: 'must' as const }] };
    expect(placeOne(base, fresh(rule), new Map())).toEqual({ hostId: 'b' });
    const r = placeOne(base, fresh(rule), new Map([['b', 'not the host asked for (host)']]));
    expect('why' in r && r.why).toEqual({ text: 'name-b: not the host asked for (host); name-a, name-c: host labels do not match its must host rule(s) zone=z1', constraints: ['excluded', 'host-label'] });
  });

  it('keeps a must anti-affinity group apart and names the group when no host is left', () => {
    const hosts = [host('a', 4096), host('b', 4096)];
    const base = snap(hosts, [vm('x', 'a', 512)], [group('web', 'anti-affinity', ['x'])]);
    expect(placeOne(base, fresh({ groups: ['web'] }), new Map())).toEqual({ hostId: 'b' });
    const full = snap(hosts, [vm('x', 'a', 512), vm('y', 'b', 512)], [group('web', 'anti-affinity', ['x', 'y'])]);
    const r = placeOne(full, fresh({ groups: ['web'] }), new Map());
    expect('why' in r && r.why).toEqual({ text: 'name-a, name-b: already runs a VM of must-anti-affinity group web', constraints: ['anti-affinity'] });
  });

  it('puts a VM with its must-affinity partners', () => {
    const base = snap([host('a', 8192), host('b', 4096)], [vm('x', 'b', 512)], [group('pair', 'affinity', ['x'])]);
    expect(placeOne(base, fresh({ groups: ['pair'] }), new Map())).toEqual({ hostId: 'b' });
  });

  it('refusalOn: the constraint a VM would break on one host, or undefined', () => {
    const base = snap([host('a', 4096, { zone: 'z1' }), host('b', 4096)], [vm('x', 'a', 512), vm('y', 'b', 512)], [group('web', 'anti-affinity', ['x', 'y'])]);
    const x = base.vms.find((v) => v.id === 'x')!;
    expect(refusalOn(base, x, 'b')).toBe('already runs a VM of must-anti-affinity group web');
    const ruled = { ...fresh({ hostRules: [{ labels: { zone: 'z1' }, strength: 'must' }] }) };
    expect(refusalOn(base, ruled, 'b')).toBe('host labels do not match its must host rule(s) zone=z1');
    expect(refusalOn(base, ruled, 'a')).toBeUndefined();
    expect(refusalOn(base, fresh({ memoryMiB: 8000 }), 'a')).toMatch(/^needs 8000 MiB/);
  });

  it('withExclusions: one synthetic label per set of allowed hosts', () => {
    const base = snap([host('a', 4096), host('b', 4096), host('c', 4096)], [vm('x', 'a', 512), vm('y', 'a', 512), vm('z', 'a', 512)]);
    const s = withExclusions(base, new Map([['x', new Map([['b', 'no image']])], ['y', new Map([['b', 'no bridge']])], ['z', new Map()]]));
    expect(s.hosts.map((h) => h.labels)).toEqual([{ 'drover.internal/eligible-0': 'yes' }, undefined, { 'drover.internal/eligible-0': 'yes' }]);
    expect(s.vms.map((v) => v.hostRules)).toEqual([[{ labels: { 'drover.internal/eligible-0': 'yes' }, strength: 'must' }], [{ labels: { 'drover.internal/eligible-0': 'yes' }, strength: 'must' }], undefined]);
  });

  it('judges a new VM by its resource pool, never a VM that moves (here in a pool over its limit)', () => {
    const pooled = (id: string, hostId: string) => ({ ...vm(id, hostId, 1024), spec: { ...vm(id, hostId, 1024).spec, resourcePool: 'gold' } });
    const pools = [{ name: 'gold', cpu: {}, memory: { limitMiB: 512 }, createdAt: at, updatedAt: at }];
    const base = buildClusterSnapshot({ hosts: [host('a', 4096), host('b', 4096)], vms: [pooled('x', 'a')], pools, migrations: [], volumes: [], usage: () => ({}), nowMs: 0 });
    expect(base.pools).toEqual([{ id: 'gold', memory: { limitMiB: 512 } }]);
    const r = placeOne(base, fresh({ pool: 'gold' }), new Map());
    expect('why' in r && r.why.constraints).toEqual(['pool-limit']);
    expect('why' in r && r.why.text).toMatch(/memory limit of resource pool gold \(512 MiB\)/);
    expect(placeOne(base, { ...base.vms[0]! }, new Map([['a', 'its current host']]))).toEqual({ hostId: 'b' });
  });
});
