// DELETE /v1/hosts/:name: an operator takes a host out of the pool. It turns
// Left, its agent credential is revoked in the same commit (the agent can no
// longer report or poll), and its name stays taken: the agent may not join
// again under it. The record stays, so `drover host list --all` shows it.
// Refused while VMs are on the host, unless the host is Unreachable or Fenced (gone)
// and none of them runs: those VMs stay recorded, Stopped, with the reason.
import { ApiError, ErrorCode } from '../api/errors.js';
import type { ControllerContext } from './context.js';
import { hostStateEvent, type EventDraft } from './events.js';
import { KIND, nowIso, type HostRecord, type VmRecord } from './records.js';
import { putOp, retryOnConflict, type ControllerState, type Versioned } from './state.js';

/** Matches no credential: hashMatches wants 64 hex digits. */
export const REVOKED_CREDENTIAL = 'revoked';
const NAMES_SHOWN = 10;

/** Whether the VM ties the host: placed on it, or migrating to or from it. */
export function onHost(hostId: string, v: VmRecord): boolean {
  return v.hostId === hostId || v.migration?.sourceHostId === hostId || v.migration?.targetHostId === hostId;
}

const notRunning = (v: VmRecord) => (v.phase === 'Stopped' || v.phase === 'Failed') && !v.migration;

/** Why the host cannot be removed now (naming the VMs), or undefined when it can. */
export function removalProblem(host: HostRecord, vms: readonly VmRecord[]): string | undefined {
  if (vms.length === 0) return undefined;
  const gone = host.state === 'Unreachable' || host.state === 'Fenced';
  if (gone && vms.every(notRunning)) return undefined;
  const shown = vms.slice(0, NAMES_SHOWN).map((v) => `${v.name} (${v.phase}${v.migration ? ', migrating' : ''})`).join(', ');
  const more = vms.length > NAMES_SHOWN ? ` and ${vms.length - NAMES_SHOWN} more` : '';
  const rule = gone
    ? `an ${host.state} host can be removed with VMs on it only when they are all Stopped or Failed; stop or delete the others`
    : `move them away (drover host maintenance ${host.name}) or delete them first; only an Unreachable host may be removed with stopped VMs on it`;
  return `host ${host.name} still has ${vms.length} VM(s): ${shown}${more}; ${rule}`;
}

async function mustFindHost(state: ControllerState, nameOrId: string): Promise<Versioned<HostRecord>> {
  const index = await state.store.get<{ hostId: string }>(KIND.hostName, nameOrId);
  const host = await state.getHost(index?.data.hostId ?? nameOrId);
  if (!host) throw new ApiError(ErrorCode.notFound, `no host named "${nameOrId}"; see \`drover host list --all\``, 'name');
  return host;
}

function removedEvent(host: HostRecord, vms: readonly VmRecord[]): EventDraft {
  const left = vms.length ? `; its ${vms.length} stopped VM(s) stay recorded: ${vms.map((v) => v.name).join(', ')}` : '';
  return { kind: 'host.removed', resource: host.name, message: `host ${host.name} removed from the pool; its agent credential is revoked${left}`, data: { id: host.id, vms: vms.map((v) => v.id) } };
}

/** Marks the host Left and revokes its credential (one commit); removing a Left host again changes nothing. */
export async function removeHost(ctx: ControllerContext, nameOrId: string): Promise<HostRecord> {
  const removed = await retryOnConflict(async () => {
    const host = await mustFindHost(ctx.state, nameOrId);
    if (host.data.state === 'Left') return host.data;
    const vms = (await ctx.state.listVms()).filter((v) => onHost(host.id, v.data));
    const problem = removalProblem(host.data, vms.map((v) => v.data));
    if (problem) throw new ApiError(ErrorCode.conflict, problem, 'name');
    const next: HostRecord = { ...host.data, state: 'Left', credentialHash: REVOKED_CREDENTIAL };
    const reason = `its host ${host.data.name} was removed from the pool while Unreachable; its disks stayed there`;
    const vmOps = vms.map((v) => putOp(KIND.vm, v.id, { ...v.data, reason, updatedAt: nowIso() }, v.rev));
    const events = [...hostStateEvent(host.data, next), removedEvent(next, vms.map((v) => v.data))];
    await ctx.state.commit([putOp(KIND.host, host.id, next, host.rev), ...vmOps], events);
    ctx.log.info(`host ${next.name} (${next.id}) removed: Left, credential revoked`);
    return next;
  });
  ctx.live.usedPorts.delete(removed.id);
  ctx.live.stats.delete(removed.id);
  ctx.live.cpuRates.delete(removed.id);
  return removed;
}

/** A removed host's agent may not join again under its name (it would undo the removal). */
export function checkJoinAllowed(existing: HostRecord | undefined): void {
  if (existing?.state !== 'Left') return;
  throw new ApiError(ErrorCode.conflict, `host ${existing.name} was removed from the pool (Left) and may not join again under that name; start the agent with another --name`, 'name');
}
