// Every step of vm.migrate may run again: the job runner re-runs a step whose
// end was not saved (a controller crash right after its last commit), so a
// step that already did its work must find it done and change nothing.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { SqliteStore } from '../../store/sqlite.js';
import { ChangeFeed } from '../change-feed.js';
import { EventBus } from '../events.js';
import type { StepContext, StepDef } from '../jobs.js';
import { LiveState } from '../live-state.js';
import { KIND, type JobRecord, type MigrationRecord, type VmMigrationState, type VmRecord } from '../records.js';
import { ControllerState, createOp, putOp } from '../state.js';
import { vmMigrateKind, type MigrationTimeouts } from './vm-migrate.js';

const at = '2026-01-01T00:00:00.000Z';
const T: MigrationTimeouts = { prepareMs: 2000, switchoverMs: 2000, releaseMs: 2000, abortMs: 2000, targetCleanupMs: 200, perHost: 2 };
const spec = { image: 'tiny', cpus: 1, maxCpus: 2, memoryMiB: 256, maxMemoryMiB: 512, volumes: [], ports: [], mac: '52:54:00:00:00:01', storage: 'shared' as const };
const migration: VmMigrationState = {
  id: 'mig-1', stage: 'queued', sourceHostId: 'h0', targetHostId: 'h1', sourceEpoch: 3, targetEpoch: 4, storage: 'shared', strategy: 'auto', maxDowntimeMs: 300, allowPostcopy: false, listenHost: '127.0.0.1',
};
const vm: VmRecord = { id: 'v1', name: 'web', spec, phase: 'Running', intent: 'running', hostId: 'h0', epoch: 3, rebootSeq: 0, forceStop: false, createdAt: at, updatedAt: at, migration };
const record: MigrationRecord = {
  id: 'mig-1', vmId: 'v1', vm: 'web', sourceHostId: 'h0', targetHostId: 'h1', source: 'h0', target: 'h1', storage: 'shared', strategy: 'auto', maxDowntimeMs: 300, allowPostcopy: false,
  timeoutS: 60, state: 'queued', path: [], jobId: 'j1', createdAt: at, updatedAt: at,
};
const job: JobRecord = { id: 'j1', kind: 'vm.migrate', target: 'web', state: 'running', steps: [], params: { vmId: 'v1', migrationId: 'mig-1' }, createdAt: at, updatedAt: at };

let dir: string;
let state: ControllerState;
let ctx: StepContext;
let steps: Map<string, StepDef>;

beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), 'drover-migrate-'));
  state = new ControllerState(new SqliteStore(join(dir, 'state.db')), new ChangeFeed(), new EventBus());
  await state.commit([createOp(KIND.vm, vm.id, vm), createOp(KIND.migration, record.id, record), createOp(KIND.job, job.id, job)]);
  ctx = { job: structuredClone(job), state, signal: new AbortController().signal, log: pino({ level: 'silent' }), save: async () => undefined };
  steps = new Map(vmMigrateKind(T, new LiveState()).steps({}).map((s) => [s.name, s]));
});

afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

/** What an agent's report would write: a change of the VM's migration state. */
async function report(change: Partial<VmMigrationState>): Promise<void> {
  const cur = (await state.getVm('v1'))!;
  await state.commit([putOp(KIND.vm, 'v1', { ...cur.data, migration: { ...cur.data.migration!, ...change } }, cur.rev)]);
}

/** The VM and the migration record, without their timestamps. */
async function snapshot(): Promise<unknown> {
  const { updatedAt: _v, ...v } = (await state.getVm('v1'))!.data;
  const { updatedAt: _m, ...m } = (await state.store.get<MigrationRecord>(KIND.migration, 'mig-1'))!.data;
  return { v, m };
}

/** Runs the step, then runs it again as a resumed job would: the second run must succeed and change nothing. */
async function runTwice(name: string): Promise<void> {
  await steps.get(name)!.run(ctx);
  const after = await snapshot();
  await steps.get(name)!.run(ctx);
  expect(await snapshot()).toEqual(after);
}

describe('vm.migrate steps run again after a controller crash', () => {
  it('each step finds its work done, through to the end of a completed migration', async () => {
    await runTwice('queue');
    expect((await state.getVm('v1'))!.data.migration?.stage).toBe('prepare');

    await report({ targetState: 'listening', targetUri: 'tcp:127.0.0.1:4444' });
    await runTwice('prepare-target');
    expect((await state.getVm('v1'))!.data.migration?.stage).toBe('transfer');

    await report({ sourceState: 'completed' });
    await runTwice('transfer');

    await report({ targetState: 'switched-over' });
    await runTwice('switchover');
    expect((await state.getVm('v1'))!.data).toMatchObject({ hostId: 'h1', epoch: 4, migration: { stage: 'switchover' } });

    await report({ sourceGone: true });
    await runTwice('release-source');
    const end = (await state.getVm('v1'))!.data;
    expect(end).toMatchObject({ hostId: 'h1', epoch: 4 });
    expect(end.migration).toBeUndefined();
    expect((await state.store.get<MigrationRecord>(KIND.migration, 'mig-1'))!.data.state).toBe('completed');
  });

  it('the rollback of a failed transfer runs again harmlessly: the VM stays on its source', async () => {
    await steps.get('queue')!.run(ctx);
    await report({ targetState: 'listening', targetUri: 'tcp:127.0.0.1:4444' });
    await steps.get('prepare-target')!.run(ctx);
    await report({ sourceState: 'failed', sourceError: 'the target went away', targetGone: true });
    await expect(steps.get('transfer')!.run(ctx)).rejects.toThrow(/failed on the source/);
    const rollback = vmMigrateKind(T, new LiveState()).rollback!;
    await rollback(ctx);
    const after = await snapshot();
    await rollback(ctx);
    expect(await snapshot()).toEqual(after);
    const end = (await state.getVm('v1'))!.data;
    expect(end).toMatchObject({ hostId: 'h0', epoch: 3, phase: 'Running' });
    expect(end.migration).toBeUndefined();
    expect((await state.store.get<MigrationRecord>(KIND.migration, 'mig-1'))!.data.state).toBe('failed');
  });
});
