// Pure: how the reports of a migrating VM's two hosts move its migration
// state. Progress (every report) stays in memory; only changes of state,
// the target's URIs and "gone" confirmations are written to the store.
import type { VmReport } from '../api/agent-protocol.js';
import type { MigrationProgress, MigrationReport, MigrationResult } from '../api/migration.js';
import type { VmRecord } from './records.js';

export interface MigrationLive {
  progress?: MigrationProgress;
  path?: string[];
  result?: MigrationResult;
  error?: string;
}

/**
 * The VM after a report of `hostId`, if that host takes part in its
 * migration; `releasedServed`: the host was already told 'released', so a VM
 * it no longer lists is gone from it.
 */
export function applyMigrationReport(vm: VmRecord, hostId: string, r: VmReport | undefined, releasedServed: boolean): VmRecord {
  const m = vm.migration;
  if (!m) return vm;
  const mine: MigrationReport | undefined = r?.migration?.id === m.id ? r.migration : undefined;
  if (hostId === m.sourceHostId) {
    const sourceGone = m.sourceGone === true || (m.stage === 'release-source' && releasedServed && !r);
    return { ...vm, migration: { ...m, ...(mine ? { sourceState: mine.state, sourceError: mine.error } : {}), sourceGone } };
  }
  if (hostId === m.targetHostId) {
    const targetGone = m.targetGone === true || (m.stage === 'abort' && releasedServed && !r);
    const uris = mine?.uri ? { targetUri: mine.uri, ...(mine.nbd ? { nbd: mine.nbd } : {}) } : {};
    return { ...vm, migration: { ...m, ...(mine ? { targetState: mine.state, targetError: mine.error } : {}), ...uris, targetGone } };
  }
  return vm;
}

/** What the source reports of its migration that changes too often to store. */
export function liveOf(r: VmReport | undefined, migrationId: string): MigrationLive | undefined {
  const m = r?.migration;
  if (!m || m.id !== migrationId || m.role !== 'source') return undefined;
  return { progress: m.progress, path: m.path, result: m.result, error: m.error };
}
