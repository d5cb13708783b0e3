// What each agent must run. The revision of a host's assignments is the store
// revision at which this controller first saw them in their current form, so
// an agent's long poll with `since` = that revision waits for a real change.
import type { AssignmentsResponse, VmAssignment } from '../api/agent-protocol.js';
import { sharesToWeight, sharesValue } from '../core/resource-pools.js';
import { ShutdownError, WaitTimeoutError } from './change-feed.js';
import type { ControllerState } from './state.js';
import { assignmentsFor } from './migration-assign.js';
import { KIND, type ResourcePoolRecord } from './records.js';

/**
 * Each VM of a pool with CPU shares gets the pool's name and weight (the host
 * makes a cgroup level of it); of a pool with memory shares, those shares
 * (the host's balloon policy orders by them).
 */
export function withPoolShares(vms: VmAssignment[], pools: readonly ResourcePoolRecord[]): VmAssignment[] {
  if (pools.length === 0) return vms;
  const byName = new Map(pools.map((p) => [p.name, p]));
  return vms.map((a) => {
    const pool = a.spec.resourcePool === undefined ? undefined : byName.get(a.spec.resourcePool);
    if (!pool) return a;
    const cpu = pool.cpu.shares === undefined ? {} : { resourcePool: { name: pool.name, cpuWeight: sharesToWeight(pool.cpu.shares) } };
    const memory = pool.memory.shares === undefined ? {} : { memoryShares: sharesValue(pool.memory.shares) };
    return { ...a, ...cpu, ...memory };
  });
}

export class Assignments {
  private readonly seen = new Map<string, { json: string; revision: number }>();
  /** Host id → VM ids it was last handed with power 'absent'. */
  private readonly servedAbsent = new Map<string, Set<string>>();

  constructor(private readonly state: ControllerState) {}

  async current(hostId: string): Promise<AssignmentsResponse> {
    const [records, pools] = await Promise.all([this.state.listVms(), this.state.store.list<ResourcePoolRecord>(KIND.resourcePool)]);
    const vms = withPoolShares(assignmentsFor(hostId, records.map((v) => v.data)), pools.map((p) => p.data));
    const json = JSON.stringify(vms);
    let known = this.seen.get(hostId);
    if (!known || known.json !== json) {
      known = { json, revision: await this.state.store.revision() };
      this.seen.set(hostId, known);
    }
    return { revision: known.revision, vms };
  }

  /** Answers at once when `since` is not the current revision; else waits up to `waitMs` for a change. */
  async poll(hostId: string, since: number | undefined, waitMs: number, signal: AbortSignal): Promise<AssignmentsResponse> {
    const now = await this.current(hostId);
    if (since === undefined || since !== now.revision || waitMs <= 0) return this.serve(hostId, now);
    try {
      const changed = await this.state.changes.waitUntil(async () => {
        const c = await this.current(hostId);
        return c.revision !== since ? c : undefined;
      }, waitMs, 'assignments', signal);
      return this.serve(hostId, changed);
    } catch (err) {
      if (err instanceof WaitTimeoutError || err instanceof ShutdownError) return this.serve(hostId, await this.current(hostId));
      throw err;
    }
  }

  /** Whether the agent of `hostId` has been told to remove (or release) the VM. */
  absentServed(hostId: string, vmId: string): boolean {
    return this.servedAbsent.get(hostId)?.has(vmId) ?? false;
  }

  private serve(hostId: string, res: AssignmentsResponse): AssignmentsResponse {
    this.servedAbsent.set(hostId, new Set(res.vms.filter((v) => v.power === 'absent' || v.power === 'released').map((v) => v.id)));
    return res;
  }
}
