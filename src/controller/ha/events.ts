// The events of HA failover (kind `ha.failover` for the job's start and end,
// `vm.failover` for each VM, `ha.retry` when VMs left on failed hosts are
// tried again); host verdicts are `host.ha` (monitor.ts).
import type { EventDraft } from '../events.js';
import type { HaVmOutcome } from '../records.js';
import { hostsText, type FailoverHost } from './failover-params.js';

/** The start of a failover of hosts declared dead in one poll, each with why; `restart` and `cannot` are labels in restart order. */
export function failoverStartedEvent(hosts: ReadonlyArray<FailoverHost & { why: string }>, jobId: string, restart: string[], cannot: string[]): EventDraft {
  const what = restart.length ? `restarting ${restart.length} HA VM(s) elsewhere, by priority: ${restart.join(', ')}` : 'no HA VM to restart';
  const not = cannot.length ? `; cannot be restarted: ${cannot.join(', ')}` : '';
  const why = hosts.length === 1 ? hosts[0]!.why : `declared dead in the same poll, one restart order for all: ${hosts.map((h) => `${h.name} (${h.why})`).join(', ')}`;
  const names = hosts.map((h) => h.name);
  return {
    kind: 'ha.failover', resource: names.join(', '),
    message: `failover of ${hostsText(names)} started: ${why}; ${what}${not}`,
    data: { hostId: hosts[0]?.id, hostIds: hosts.map((h) => h.id), state: 'started', jobId, restart, cannot },
  };
}

export function vmFailoverEvent(vm: { id: string; name: string }, hostName: string, o: HaVmOutcome): EventDraft {
  const message = o.restarted
    ? `${vm.name}: ${o.started ? 'restarted' : 'moved (it was stopped, not started)'} on ${o.host} (epoch ${o.epoch}) after host ${hostName} failed`
    : `${vm.name}: not restarted after host ${hostName} failed: ${o.reason}`;
  return { kind: 'vm.failover', resource: vm.name, message, data: { id: vm.id, from: hostName, ...o } };
}

export function failoverFinishedEvent(hosts: readonly string[], hostIds: readonly string[], retry: boolean, summary: string, restarted: number, notRestarted: number): EventDraft {
  return {
    kind: 'ha.failover', resource: hosts.join(', '),
    message: `${retry ? 'retried ' : ''}failover of ${hostsText(hosts)} finished: ${summary}`,
    data: { hostId: hostIds[0], hostIds, state: 'finished', retry, restarted, notRestarted },
  };
}

/** HA VMs left on failed hosts are tried again: which, and what changed that may give them room. */
export function failoverRetryEvent(hosts: readonly string[], jobId: string, vms: readonly string[], why: string): EventDraft {
  return {
    kind: 'ha.retry', resource: hosts.join(', '),
    message: `retrying the failover of ${vms.length} HA VM(s) left on failed ${hostsText(hosts)}, by priority: ${vms.join(', ')}; room may have appeared: ${why}`,
    data: { jobId, vms, why },
  };
}
