import { describe, expect, it } from 'vitest';
import { mayStart } from './job-kinds/vm-migrate.js';
import { assignmentOf } from './migration-assign.js';
import type { VmMigrationState, VmRecord } from './records.js';

const spec = { image: 'tiny', cpus: 1, maxCpus: 2, memoryMiB: 256, maxMemoryMiB: 512, volumes: [], ports: [], mac: '52:54:00:00:00:01', storage: 'shared' as const };
const at = '2026-01-01T00:00:00.000Z';

function vm(stage: VmMigrationState['stage'] | undefined, hostId = 'h0', over: Partial<VmMigrationState> = {}): VmRecord {
  const migration: VmMigrationState | undefined = stage && {
    id: 'mig-1', stage, sourceHostId: 'h0', targetHostId: 'h1', sourceEpoch: 3, targetEpoch: 4, storage: 'shared', strategy: 'auto',
    maxDowntimeMs: 300, allowPostcopy: false, listenHost: '127.0.0.1', targetUri: 'tcp:127.0.0.1:4444', ...over,
  };
  return { id: 'v1', name: 'web', spec, phase: 'Running', intent: 'running', hostId, epoch: stage === 'release-source' || stage === 'switchover' ? 4 : 3, rebootSeq: 0, forceStop: false, createdAt: at, updatedAt: at, ...(migration ? { migration } : {}) };
}

describe('assignments of a migrating VM', () => {
  it('without a migration only the VM host gets it', () => {
    expect(assignmentOf('h0', vm(undefined))?.power).toBe('running');
    expect(assignmentOf('h1', vm(undefined))).toBeUndefined();
    expect(assignmentOf('h1', vm('queued'))).toBeUndefined();
  });

  it('prepare: the target starts at the new epoch and listens; the source only knows', () => {
    const t = assignmentOf('h1', vm('prepare'))!;
    expect(t).toMatchObject({ power: 'running', epoch: 4, migration: { role: 'target', listenHost: '127.0.0.1' } });
    expect(t.migration?.switchover).toBeUndefined();
    const s = assignmentOf('h0', vm('prepare'))!;
    expect(s).toMatchObject({ power: 'running', epoch: 3, migration: { role: 'source' } });
    expect(s.migration?.targetUri).toBeUndefined();
  });

  it('transfer: the source is told where to send and how', () => {
    const s = assignmentOf('h0', vm('transfer', 'h0', { bandwidthBytes: 1048576 }))!;
    expect(s.migration).toMatchObject({ role: 'source', targetUri: 'tcp:127.0.0.1:4444', strategy: 'auto', maxDowntimeMs: 300, bandwidthBytes: 1048576 });
  });

  it('switchover: the target runs the guest; the source holds its old epoch', () => {
    expect(assignmentOf('h1', vm('switchover', 'h1'))).toMatchObject({ epoch: 4, migration: { role: 'target', switchover: true } });
    expect(assignmentOf('h0', vm('switchover', 'h1'))).toMatchObject({ epoch: 3, power: 'running', migration: { role: 'source' } });
    // The guest's readiness, as the source saw it, goes to the target with the switchover.
    expect(assignmentOf('h1', vm('switchover', 'h1', { guestReadyAt: at }))?.migration?.guestReadyAt).toBe(at);
    expect(assignmentOf('h1', vm('transfer', 'h0', { guestReadyAt: at }))?.migration?.guestReadyAt).toBeUndefined();
  });

  it('release-source: the source releases it, the target runs it as its own', () => {
    expect(assignmentOf('h0', vm('release-source', 'h1'))?.power).toBe('released');
    const t = assignmentOf('h1', vm('release-source', 'h1'))!;
    expect(t.power).toBe('running');
    expect(t.migration).toBeUndefined();
  });

  it('abort: the source cancels, the target is released', () => {
    expect(assignmentOf('h0', vm('abort'))?.migration?.cancel).toBe(true);
    expect(assignmentOf('h1', vm('abort'))?.power).toBe('released');
  });

  it('another host gets nothing', () => {
    expect(assignmentOf('h2', vm('transfer'))).toBeUndefined();
  });
});

describe('migration queue', () => {
  const m = (id: string, stage: VmMigrationState['stage'], source: string, target: string): VmRecord =>
    ({ ...vm(stage), id: `vm-${id}`, migration: { ...vm(stage).migration!, id, stage, sourceHostId: source, targetHostId: target } });

  it('starts while both hosts have a free slot', () => {
    const me = m('mig-3', 'queued', 'h0', 'h1');
    expect(mayStart(me.migration!, [me, m('mig-1', 'transfer', 'h0', 'h2')], 2)).toBe(true);
    expect(mayStart(me.migration!, [me, m('mig-1', 'transfer', 'h0', 'h2'), m('mig-2', 'prepare', 'h3', 'h1')], 1)).toBe(false);
  });

  it('waits behind an older queued migration of the same hosts (first come, first served)', () => {
    const me = m('mig-3', 'queued', 'h0', 'h1');
    expect(mayStart(me.migration!, [me, m('mig-2', 'queued', 'h1', 'h2')], 2)).toBe(false);
    expect(mayStart(me.migration!, [me, m('mig-4', 'queued', 'h1', 'h2')], 2)).toBe(true);
    expect(mayStart(me.migration!, [me, m('mig-1', 'queued', 'h5', 'h6')], 2)).toBe(true);
  });
});
