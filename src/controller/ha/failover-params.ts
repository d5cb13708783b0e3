// The params of an ha.failover job, made by the monitor for the hosts it
// declared dead in one poll (one job, one restart order for all their HA
// VMs) and by the retry of VMs left on failed hosts. A job covers every host
// in `hostIds`: each of its VMs restarts from the failed host it is on.
import type { JobParams } from '../records.js';

export interface FailoverJobParams extends JobParams {
  /** VM id → the name of the failed host it restarts from (events, outcome lines). Absent in jobs of one host made before it existed. */
  haVmFrom?: Record<string, string>;
  /** A retry of VMs left on failed hosts (they stay where they are if their host is back by then). */
  haRetry?: boolean;
}

export interface FailoverHost {
  id: string;
  name: string;
}

export interface FailoverVmRef {
  id: string;
  name: string;
  /** The failed host it is on. */
  hostId: string;
}

/** "host h1" or "hosts h1, h2". */
export function hostsText(names: readonly string[]): string {
  return names.length === 1 ? `host ${names[0]}` : `hosts ${names.join(', ')}`;
}

/** The job's target: the failed hosts' names. */
export function jobTargetOf(hosts: readonly FailoverHost[]): string {
  return hosts.map((h) => h.name).join(', ');
}

/** Params for a job over `hosts` restarting `ordered` (restart order) with some outcomes known already. */
export function failoverParams(hosts: readonly FailoverHost[], ordered: readonly FailoverVmRef[], outcomes: FailoverJobParams['haOutcomes'] = {}, retry = false): FailoverJobParams {
  const names = new Map(hosts.map((h) => [h.id, h.name]));
  return {
    hostIds: hosts.map((h) => h.id),
    haVmIds: ordered.map((v) => v.id),
    haVmNames: Object.fromEntries(ordered.map((v) => [v.id, v.name])),
    haVmFrom: Object.fromEntries(ordered.map((v) => [v.id, names.get(v.hostId) ?? v.hostId])),
    haOutcomes: outcomes,
    ...(retry ? { haRetry: true } : {}),
  };
}

/** The failed host a VM of the job restarts from (by name). */
export function fromHostOf(params: FailoverJobParams, target: string, vmId: string): string {
  return params.haVmFrom?.[vmId] ?? target;
}
