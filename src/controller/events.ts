// The in-process event bus behind the `/v1/events` WebSocket: every state
// change the controller commits is published here once, after its commit.
import type { DroverEvent } from '../api/resources.js';
import type { MigrationLive } from './migration-reports.js';
import type { HostRecord, JobRecord, MigrationRecord, VmRecord } from './records.js';

export type EventDraft = Omit<DroverEvent, 'seq' | 'at'>;
type Listener = (e: DroverEvent) => void;

export class EventBus {
  private seq = 0;
  private readonly listeners = new Set<Listener>();

  publish(draft: EventDraft): void {
    const event: DroverEvent = { seq: ++this.seq, at: new Date().toISOString(), ...draft };
    for (const l of this.listeners) l(event);
  }

  subscribe(listener: Listener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
}

export function vmPhaseEvent(before: VmRecord | undefined, after: VmRecord): EventDraft[] {
  if (before?.phase === after.phase) return [];
  const from = before?.phase ?? 'none';
  const reason = after.reason ? ` (${after.reason})` : '';
  return [{ kind: 'vm.phase', resource: after.name, message: `${after.name}: ${from} -> ${after.phase}${reason}`, data: { id: after.id, from, to: after.phase, reason: after.reason } }];
}

export function vmCreatedEvent(vm: VmRecord): EventDraft {
  return { kind: 'vm.created', resource: vm.name, message: `VM ${vm.name} created on host ${vm.hostId ?? 'none'}`, data: { id: vm.id, hostId: vm.hostId } };
}

export function vmDeletedEvent(vm: VmRecord): EventDraft {
  return { kind: 'vm.deleted', resource: vm.name, message: `VM ${vm.name} deleted`, data: { id: vm.id } };
}

export function hostStateEvent(before: HostRecord | undefined, after: HostRecord): EventDraft[] {
  if (before?.state === after.state) return [];
  return [{ kind: 'host.state', resource: after.name, message: `host ${after.name}: ${before?.state ?? 'none'} -> ${after.state}`, data: { id: after.id, from: before?.state, to: after.state } }];
}

export function jobEvent(job: JobRecord): EventDraft {
  const step = job.steps.find((s) => s.state === 'running' || s.state === 'failed');
  const at = step ? ` at ${step.name}` : '';
  return {
    kind: 'job.updated',
    resource: job.id,
    message: `job ${job.kind} ${job.target}: ${job.state}${at}`,
    data: { id: job.id, kind: job.kind, target: job.target, state: job.state, steps: job.steps.map((s) => `${s.name}:${s.state}`), progress: job.progress, error: job.error },
  };
}

export function migrationEvent(m: MigrationRecord): EventDraft {
  const detail = m.error ? `: ${m.error}` : m.message ? ` (${m.message})` : '';
  return { kind: 'vm.migration', resource: m.vm, message: `migration ${m.id} of ${m.vm} ${m.source} -> ${m.target}: ${m.state}${detail}`, data: { id: m.id, state: m.state, path: m.path, result: m.result } };
}

export function migrationProgressEvent(vmName: string, migrationId: string, live: MigrationLive): EventDraft {
  const p = live.progress;
  const message = p ? `migration ${migrationId} of ${vmName}: ${Math.round(p.transferredBytes / 1048576)} MiB sent, ${Math.round(p.remainingBytes / 1048576)} MiB left, pass ${p.passes}` : `migration ${migrationId} of ${vmName}`;
  return { kind: 'vm.migration.progress', resource: vmName, message, data: { id: migrationId, ...live } };
}
