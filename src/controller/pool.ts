// GET /v1/pool and the usage of each host in GET /v1/hosts: a snapshot of the
// hosts and VMs from the store handed to the pure capacity code of the core.
import type { HostsByState, Pool } from '../api/pool.js';
import { HOST_STATES, type Host } from '../api/resources.js';
import { poolCapacity, type CapacityHost, type CapacityVm } from '../core/pool-capacity.js';
import type { ControllerContext } from './context.js';
import { poolHa } from './ha/admission.js';
import { hostCapacity } from './host-capacity.js';
import type { VmRecord } from './records.js';

/** A host as the capacity code sees it, with what its agent holds back for itself; one that has not reported an inventory yet has no capacity. */
export function capacityHost(h: Pick<Host, 'id' | 'state' | 'inventory'>): CapacityHost {
  return { id: h.id, state: h.state, ...hostCapacity(h.inventory) };
}

export function capacityVm(v: VmRecord): CapacityVm {
  return { hostId: v.hostId, phase: v.phase, cpus: v.spec.cpus, memoryMiB: v.spec.memoryMiB };
}

async function snapshot(ctx: ControllerContext): Promise<{ hosts: CapacityHost[]; vms: CapacityVm[] }> {
  const [hosts, vms] = await Promise.all([ctx.state.listHosts(), ctx.state.listVms()]);
  return { hosts: hosts.map((h) => capacityHost(h.data)), vms: vms.map((v) => capacityVm(v.data)) };
}

export async function getPool(ctx: ControllerContext): Promise<Pool> {
  const { hosts, vms } = await snapshot(ctx);
  const { pool } = poolCapacity(hosts, vms, HOST_STATES);
  const byState = Object.fromEntries(HOST_STATES.map((s) => [s, pool.hosts.byState[s] ?? 0])) as HostsByState;
  const ha = await poolHa(ctx, { memoryMiB: pool.memoryMiB.free, cpus: pool.cpus.free });
  return { ...pool, hosts: { ...pool.hosts, byState }, ha };
}

/** The hosts with their usage and HA failover verdict filled in (from one snapshot of the VMs). */
export async function withUsage(ctx: ControllerContext, hosts: Host[]): Promise<Host[]> {
  const vms = (await ctx.state.listVms()).map((v) => capacityVm(v.data));
  const { hosts: usage } = poolCapacity(hosts.map(capacityHost), vms);
  return hosts.map((h) => ({ ...h, usage: usage.get(h.id), ha: ctx.ha.status(h) }));
}
