// POST /v1/hosts/:name/standby: an empty host leaves the pool's capacity
// (no new VMs, not counted Ready) without leaving the cluster; activate
// brings it back. The power loop of the planner will use it; powering the
// machine off and waking it is the power driver's part.
import { ApiError, ErrorCode } from '../api/errors.js';
import type { ControllerContext } from './context.js';
import { setHostState } from './job-kinds/host-maintenance.js';
import { holdsMemory } from './placement.js';
import type { HostRecord } from './records.js';

export async function standbyHost(ctx: ControllerContext, host: HostRecord): Promise<HostRecord> {
  if (host.state === 'Standby') return host;
  if (host.state !== 'Ready' && host.state !== 'Maintenance') throw new ApiError(ErrorCode.conflict, `host ${host.name} is ${host.state}; only a Ready host or one in Maintenance can go to Standby`);
  const vms = (await ctx.state.listVms()).map((v) => v.data);
  const busy = vms.filter((v) => (v.hostId === host.id && holdsMemory(v)) || v.migration?.targetHostId === host.id);
  if (busy.length > 0) {
    const names = busy.slice(0, 10).map((v) => v.name).join(', ');
    throw new ApiError(ErrorCode.conflict, `host ${host.name} still runs ${busy.length} VM(s) (${names}); empty it first: drover host maintenance ${host.name}`);
  }
  return setHostState(ctx.state, host.id, 'Standby');
}
