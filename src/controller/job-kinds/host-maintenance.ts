// host.maintenance: put a host in Maintenance (placement and migration
// targets skip it from then on) and live-migrate every running VM away,
// each to the host the planner's evacuate plan picks (evacuation-plan.ts:
// every constraint kept; VMs that must share a host move to the same one).
// The job ends with one line per VM: "NAME: moved to H", or "NAME: not
// moved, REASON". Migrations queue per host as usual.
import { ApiError, ErrorCode } from '../../api/errors.js';
import type { Migration } from '../../api/migration.js';
import type { ControllerContext } from '../context.js';
import { hostStateEvent } from '../events.js';
import type { JobKind, StepContext } from '../jobs.js';
import { planEvacuation } from '../evacuation-plan.js';
import { startMigration } from '../migration-start.js';
import { KIND, type HostRecord, type MigrationRecord, type VmRecord } from '../records.js';
import { putOp, retryOnConflict, type ControllerState } from '../state.js';

const EVACUATE_TIMEOUT_MS = 6 * 3600_000;

export function hostMaintenanceKind(ctx: () => ControllerContext): JobKind {
  return {
    kind: 'host.maintenance',
    steps: () => [
      { name: 'enter', run: async (s) => void (await setHostState(s.state, hostIdOf(s), 'Maintenance')) },
      { name: 'evacuate', run: (s) => evacuate(s, ctx()) },
    ],
  };
}

function hostIdOf(s: StepContext): string {
  const id = s.job.params.hostIds?.[0];
  if (!id) throw new Error(`job ${s.job.id} names no host`);
  return id;
}

export async function setHostState(state: ControllerState, id: string, to: HostRecord['state']): Promise<HostRecord> {
  return retryOnConflict(async () => {
    const host = await state.getHost(id);
    if (!host) throw new ApiError(ErrorCode.notFound, `host ${id} no longer exists`);
    if (host.data.state === to) return host.data;
    const next: HostRecord = { ...host.data, state: to };
    await state.commit([putOp(KIND.host, id, next, host.rev)], hostStateEvent(host.data, next));
    return next;
  });
}

async function evacuate(s: StepContext, ctx: ControllerContext): Promise<void> {
  const hostId = hostIdOf(s);
  const started = s.job.params.migrationIds ?? {};
  const outcomes: string[] = [];
  const running: VmRecord[] = [];
  for (const vm of await s.state.vmsOnHost(hostId)) {
    const v = vm.data;
    if (started[v.id] || v.migration) continue;
    if (v.phase !== 'Running') outcomes.push(`${v.name}: not moved, it is ${v.phase} (only running VMs are live-migrated)`);
    else running.push(v);
  }
  for (const move of running.length ? await planEvacuation(ctx, hostId, running) : []) {
    if ('why' in move) {
      outcomes.push(`${move.vm.name}: not moved, ${move.why}`);
      continue;
    }
    try {
      started[move.vm.id] = (await startMigration(ctx, move.vm.id, { to: move.to }, { planned: true })).migration.id;
    } catch (err) {
      outcomes.push(`${move.vm.name}: not moved, ${(err as Error).message}`);
    }
  }
  s.job.params.migrationIds = started;
  s.job.progress = { done: 0, total: Object.keys(started).length, message: 'migrating' };
  await s.save();
  const finished = await waitMigrations(s, Object.values(started));
  outcomes.push(...finished.map((m) => (m.state === 'completed' ? `${m.vm}: moved to ${m.target}` : `${m.vm}: not moved, migration ${m.state}: ${m.error ?? ''}`)));
  s.job.progress = { done: finished.length, total: finished.length, message: outcomes.join('; ') || 'no VMs on the host' };
  await s.save();
  const stuck = outcomes.filter((o) => o.includes('not moved'));
  if (stuck.length) throw new ApiError(ErrorCode.conflict, `the host is in Maintenance but ${stuck.length} VM(s) are still on it: ${stuck.join('; ')}`);
}

async function waitMigrations(s: StepContext, ids: string[]): Promise<Migration[]> {
  let done: MigrationRecord[] = [];
  await s.state.changes.waitUntil(async () => {
    const recs = await Promise.all(ids.map((id) => s.state.store.get<MigrationRecord>(KIND.migration, id)));
    done = recs.flatMap((r) => (r && ['completed', 'failed', 'cancelled'].includes(r.data.state) ? [r.data] : []));
    return done.length === ids.length ? true : undefined;
  }, EVACUATE_TIMEOUT_MS, 'the evacuating migrations', s.signal);
  return done;
}
