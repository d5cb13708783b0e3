import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  grownShortfall, hostStateOnReport, judgeHost, renewingWithinMs, retryReason, roomFingerprint, selectFailover, silenceMakesUnreachable, waitingOnFailedHosts, WATCHED_HOST_STATES, withStartedHaVm,
  type FailoverVm, type HostHaInput, type HostHaVerdict, type LeaseObservation, type RoomHost,
} from './ha-failover.js';
import { haTiming } from './ha-timing.js';
import type { ClusterSnapshot, SnapshotVm } from './planner/index.js';

const T = haTiming(1000); // suspect 3000, expire 6250, renewing within 2250
const STATES = ['Joining', 'Ready', 'Unreachable', 'Maintenance', 'Standby', 'Left', 'Fenced', 'Recovering'];
const seen = (unchangedMs: number, extra: Partial<LeaseObservation> = {}): LeaseObservation => ({ seen: true, unchangedMs, ...extra });
const never: LeaseObservation = { seen: false, unchangedMs: 0 };

describe('judgeHost', () => {
  const table: Array<[string, Omit<HostHaInput, 'state'> & { state?: string }, HostHaVerdict, RegExp?]> = [
    ['reports, lease renewed', { silentMs: 0, lease: seen(500) }, 'alive'],
    ['just under the suspicion limit, lease renewed', { silentMs: 2999, lease: seen(2250) }, 'alive'],
    ['silent at the limit, lease changed within 2 renewals + a poll', { silentMs: 3000, lease: seen(2250) }, 'isolated', /cut off from the controller, not dead/],
    ['silent long, lease still renewed', { silentMs: 600_000, lease: seen(0) }, 'isolated'],
    ['silent, lease not renewed lately', { silentMs: 3000, lease: seen(2251) }, 'suspected', /dead at 6\.3 s unless it renews/],
    ['silent, lease unchanged just short of expiry', { silentMs: 60_000, lease: seen(6249) }, 'suspected'],
    ['silent, lease expired', { silentMs: 3000, lease: seen(6250) }, 'dead', /it has fenced itself/],
    ['silent, lease long expired', { silentMs: 600_000, lease: seen(600_000) }, 'dead'],
    ['silent, no lease ever seen', { silentMs: 600_000, lease: never }, 'no-lease', /not declared dead/],
    ['reports, no lease ever seen', { silentMs: 0, lease: never }, 'alive', /would not be failed over/],
    ['silent, lease unreadable', { silentMs: 600_000, lease: seen(0, { readError: 'EIO' }) }, 'suspected', /cannot read its lease \(EIO\)/],
    ['reports, lease unreadable', { silentMs: 0, lease: seen(0, { readError: 'EIO' }) }, 'alive'],
    ['silent, lease of another pool', { silentMs: 600_000, lease: seen(600_000, { mismatch: 'another pool' }) }, 'no-lease', /another pool; it is never declared dead/],
    ['reports, lease of another pool', { silentMs: 0, lease: seen(600_000, { mismatch: 'another pool' }) }, 'alive'],
    ['reports, lease expired, says it lost it', { silentMs: 0, lease: seen(6250), reportsLeaseLost: true }, 'dead', /it has fenced its HA VMs/],
    ['reports, lease expired, says it lost it, HA VMs here', { silentMs: 0, lease: seen(6250), reportsLeaseLost: true, haVms: 2 }, 'dead'],
    ['reports, lease expired, says it lost it, no HA VM here', { silentMs: 0, lease: seen(6250), reportsLeaseLost: true, haVms: 0 }, 'lease-lost', /nothing to fail over/],
    ['silent, lease expired, no HA VM here', { silentMs: 3000, lease: seen(6250), haVms: 0 }, 'dead'],
    ['reports, lease expired, says nothing of losing it', { silentMs: 0, lease: seen(6250) }, 'lease-stale', /view of the shared pool is in doubt/],
    ['reports, lease not yet expired, says it lost it', { silentMs: 0, lease: seen(6249), reportsLeaseLost: true }, 'alive'],
    ['Fenced host', { state: 'Fenced', silentMs: 0, lease: seen(0) }, 'fenced'],
    ['Standby host, silent, lease expired', { state: 'Standby', silentMs: 600_000, lease: seen(600_000) }, 'not-watched'],
    ['Left host', { state: 'Left', silentMs: 600_000, lease: seen(600_000) }, 'not-watched'],
    ['Joining host', { state: 'Joining', silentMs: 600_000, lease: never }, 'not-watched'],
    ['Unreachable host, lease expired', { state: 'Unreachable', silentMs: 600_000, lease: seen(7000) }, 'dead'],
    ['Maintenance host, lease expired', { state: 'Maintenance', silentMs: 600_000, lease: seen(7000) }, 'dead'],
    ['Recovering host, lease expired', { state: 'Recovering', silentMs: 600_000, lease: seen(7000) }, 'dead'],
  ];
  for (const [name, input, verdict, reason] of table) {
    it(`${name}: ${verdict}`, () => {
      const j = judgeHost({ state: 'Ready', ...input }, T);
      expect(j.verdict).toBe(verdict);
      if (reason) expect(j.reason).toMatch(reason);
    });
  }

  it('renewing within: two renewals (each may take T) and one poll', () => {
    expect(renewingWithinMs(T)).toBe(2250);
    expect(renewingWithinMs(T)).toBeLessThan(T.expireAfterMs);
  });

  it('never declares a host dead before its lease stayed unchanged for expireAfterMs, nor a host that reports and keeps its lease', () => {
    fc.assert(fc.property(
      fc.constantFrom(...STATES), fc.integer({ min: 0, max: 100_000 }), fc.boolean(), fc.integer({ min: 0, max: 100_000 }),
      fc.option(fc.constant('EIO'), { nil: undefined }), fc.option(fc.constant('other pool'), { nil: undefined }), fc.boolean(), fc.integer({ min: 100, max: 10_000 }),
      (state, silentMs, wasSeen, unchangedMs, readError, mismatch, reportsLeaseLost, io) => {
        const t = haTiming(io);
        const lease: LeaseObservation = { seen: wasSeen, unchangedMs, ...(readError ? { readError } : {}), ...(mismatch ? { mismatch } : {}) };
        const j = judgeHost({ state, silentMs, lease, reportsLeaseLost }, t);
        if (j.verdict !== 'dead') return;
        expect(WATCHED_HOST_STATES).toContain(state);
        expect(wasSeen && !readError && !mismatch).toBe(true);
        expect(unchangedMs).toBeGreaterThanOrEqual(t.expireAfterMs);
        expect(silentMs >= t.heartbeatSuspectMs || reportsLeaseLost).toBe(true);
      },
    ), { numRuns: 5000 });
  });

  it('every watched state is judged the same way; the others never act', () => {
    for (const state of STATES) {
      const j = judgeHost({ state, silentMs: 600_000, lease: seen(600_000) }, T);
      expect(j.verdict).toBe(state === 'Fenced' ? 'fenced' : WATCHED_HOST_STATES.includes(state) ? 'dead' : 'not-watched');
    }
  });
});

describe('selectFailover', () => {
  const vm = (name: string, extra: Partial<FailoverVm> = {}): FailoverVm => ({ id: `id-${name}`, name, ha: true, storage: 'shared', phase: 'Running', ...extra });

  it('restarts HA VMs on shared storage, higher priority first, then by name; the rest stays', () => {
    const sel = selectFailover([
      vm('b', { haPriority: 5 }), vm('a', { haPriority: 5 }), vm('low', { haPriority: -3 }), vm('top', { haPriority: 100 }), vm('zero'),
      vm('plain', { ha: false }), vm('unset', { ha: undefined }),
    ]);
    expect(sel.restart).toEqual(['id-top', 'id-a', 'id-b', 'id-zero', 'id-low']);
    expect(sel.stay).toEqual(['id-plain', 'id-unset']);
    expect(sel.notRestartable).toEqual([]);
  });

  it('says why an HA VM cannot run elsewhere: local disks, being deleted, never started', () => {
    const sel = selectFailover([vm('local', { storage: 'local' }), vm('default', { storage: undefined }), vm('gone', { phase: 'Deleting' }), vm('rm', { removing: true }), vm('new', { phase: 'Pending' }), vm('stopped', { phase: 'Stopped' })]);
    expect(sel.restart).toEqual(['id-stopped']);
    expect(Object.fromEntries(sel.notRestartable.map((n) => [n.id, n.reason]))).toEqual({
      'id-local': expect.stringMatching(/local pool \(storage local\); HA restart needs storage shared/),
      'id-default': expect.stringMatching(/storage local/),
      'id-gone': 'it is being deleted',
      'id-rm': 'it is being deleted',
      'id-new': expect.stringMatching(/never started/),
    });
  });
});

describe('one restart order over several failed hosts', () => {
  const vm = (name: string, hostId: string, extra: Partial<FailoverVm> & { migrating?: boolean } = {}) => ({ id: `id-${name}`, name, hostId, ha: true, storage: 'shared' as const, phase: 'Running', ...extra });

  it('orders the HA VMs of all the hosts by priority, whichever host they are on', () => {
    const sel = selectFailover([vm('a1', 'h1', { haPriority: 10 }), vm('a2', 'h1', { haPriority: 1 }), vm('b1', 'h2', { haPriority: 50 }), vm('b2', 'h2', { haPriority: 5 })]);
    expect(sel.restart).toEqual(['id-b1', 'id-a1', 'id-b2', 'id-a2']);
  });

  it('waiting on failed hosts: restartable HA VMs on those hosts only, not migrating, in restart order', () => {
    const waiting = waitingOnFailedHosts([
      vm('low', 'h1'), vm('top', 'h2', { haPriority: 9 }), vm('alive', 'h3', { haPriority: 99 }), vm('plain', 'h1', { ha: false }),
      vm('local', 'h1', { storage: 'local' }), vm('new', 'h1', { phase: 'Pending' }), vm('moving', 'h1', { migrating: true }), vm('stopped', 'h2', { phase: 'Stopped' }),
      { ...vm('nowhere', 'h1'), hostId: null },
    ], new Set(['h1', 'h2']));
    expect(waiting.map((v) => v.name)).toEqual(['top', 'low', 'stopped']);
  });
});

describe('retry of HA VMs left on failed hosts', () => {
  const host = (id: string, usedMemoryMiB = 0, traits = 'cap'): RoomHost => ({ id, name: id, traits, usedCpus: 1, usedMemoryMiB });
  const waiting = [{ id: 'v1', name: 'big', traits: '3000' }];
  const base = roomFingerprint([host('h2', 1000), host('h3')], 5, 'settings', waiting);

  it('retries once after the controller started, then only when something that could give room changed', () => {
    expect(retryReason(undefined, base)).toMatch(/controller started/);
    expect(retryReason(base, roomFingerprint([host('h3'), host('h2', 1000)], 5, 'settings', waiting))).toBeUndefined(); // same, in another order
    const cases: Array<[RoomHost[], number, string, typeof waiting, RegExp]> = [
      [[host('h2', 1000), host('h3'), host('h4')], 5, 'settings', waiting, /Ready hosts changed \(now h2, h3, h4\)/],
      [[host('h3')], 5, 'settings', waiting, /Ready hosts changed \(now h3\)/],
      [[host('h2', 1000, 'labels'), host('h3')], 5, 'settings', waiting, /Ready hosts changed/],
      [[host('h2', 500), host('h3')], 5, 'settings', waiting, /^memory or vCPUs in use on the Ready hosts changed$/],
      [[host('h2', 1000), host('h3')], 4, 'settings', waiting, /number of VMs changed \(5 -> 4\)/],
      [[host('h2', 1000), host('h3')], 5, 'other', waiting, /groups or automation settings changed/],
      [[host('h2', 1000), host('h3')], 5, 'settings', [...waiting, { id: 'v2', name: 'db', traits: '1' }], /new or changed HA VM\(s\) waiting: db$/],
      [[host('h2', 1000), host('h3')], 5, 'settings', [{ id: 'v1', name: 'big', traits: '2000' }], /waiting: big$/],
    ];
    for (const [hosts, count, settings, w, why] of cases) expect(retryReason(base, roomFingerprint(hosts, count, settings, w))).toMatch(why);
  });

  it('fewer VMs waiting is no reason: they take no room', () => {
    expect(retryReason(base, roomFingerprint([host('h2', 1000), host('h3')], 5, 'settings', []))).toBeUndefined();
  });
});

describe('HA admission of a start', () => {
  // Two hosts of 4096 MiB, F = 1: h1 runs HA VM a (2048), h2 a plain VM (1536).
  const snap = (vms: SnapshotVm[], failures = 1): ClusterSnapshot => ({
    nowMs: 0, policy: { failures },
    hosts: [{ id: 'h1', cpus: 8, memoryMiB: 4096, state: 'ready' }, { id: 'h2', cpus: 8, memoryMiB: 4096, state: 'ready' }],
    vms,
  });
  const running: SnapshotVm[] = [{ id: 'a', cpus: 1, memoryMiB: 2048, host: 'h1', ha: true }, { id: 'fill', cpus: 1, memoryMiB: 1536, host: 'h2' }];
  const start = (s: ClusterSnapshot, vm: SnapshotVm) => grownShortfall(s, withStartedHaVm(s, vm));

  it('refuses a start that would leave too little room to restart the HA VMs of a failed host, with the shortfall', () => {
    expect(start(snap(running), { id: 's', cpus: 1, memoryMiB: 1024, host: 'h1' })).toMatchObject({ mem: 512 });
  });

  it('admits a start that keeps the room, and any start with F = 0', () => {
    expect(start(snap(running), { id: 's', cpus: 1, memoryMiB: 256, host: 'h1' })).toBeUndefined();
    expect(start(snap(running, 0), { id: 's', cpus: 1, memoryMiB: 1024, host: 'h1' })).toBeUndefined();
  });

  it('counts the started VM once, as HA, on its own host', () => {
    const s = withStartedHaVm(snap(running), { id: 'a', cpus: 1, memoryMiB: 2048, host: 'h1' });
    expect(s.vms.filter((v) => v.id === 'a')).toEqual([{ id: 'a', cpus: 1, memoryMiB: 2048, host: 'h1', ha: true }]);
  });

  it('does not refuse what leaves an existing shortfall as it is', () => {
    const short = snap([...running, { id: 'p', cpus: 1, memoryMiB: 1024, host: 'h2' }]); // short by 512 MiB already
    expect(start(short, { id: 'tiny', cpus: 1, memoryMiB: 0, host: 'h2' })).toBeUndefined();
    expect(start(short, { id: 's', cpus: 1, memoryMiB: 256, host: 'h2' })).toMatchObject({ mem: 768 });
  });
});

describe('host state on report and silence', () => {
  it('a failed-over host is Recovering while something is pending, then Ready', () => {
    const rows: Array<[string, boolean, string]> = [];
    for (const state of STATES) for (const pending of [false, true]) rows.push([state, pending, hostStateOnReport(state, pending)]);
    expect(rows).toEqual([
      ['Joining', false, 'Ready'], ['Joining', true, 'Recovering'],
      ['Ready', false, 'Ready'], ['Ready', true, 'Ready'],
      ['Unreachable', false, 'Ready'], ['Unreachable', true, 'Recovering'],
      ['Maintenance', false, 'Maintenance'], ['Maintenance', true, 'Maintenance'],
      ['Standby', false, 'Standby'], ['Standby', true, 'Standby'],
      ['Left', false, 'Left'], ['Left', true, 'Left'],
      ['Fenced', false, 'Ready'], ['Fenced', true, 'Recovering'],
      ['Recovering', false, 'Ready'], ['Recovering', true, 'Recovering'],
    ]);
  });

  it('silence makes Ready, Joining and Recovering hosts Unreachable; the others keep their state', () => {
    expect(STATES.filter(silenceMakesUnreachable)).toEqual(['Joining', 'Ready', 'Recovering']);
  });
});
