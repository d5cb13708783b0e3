// The events of HA failover (kind `ha.failover` for the job's start and end,
// `vm.failover` for each VM); host verdicts are `host.ha` (monitor.ts).
import type { EventDraft } from '../events.js';
import type { HaVmOutcome, HostRecord } from '../records.js';

export function failoverStartedEvent(host: HostRecord, why: string, restart: string[], cannot: string[]): EventDraft {
  const what = restart.length ? `restarting ${restart.length} HA VM(s) elsewhere, by priority: ${restart.join(', ')}` : 'no HA VM to restart';
  const not = cannot.length ? `; cannot be restarted: ${cannot.join(', ')}` : '';
  return {
    kind: 'ha.failover', resource: host.name,
    message: `failover of host ${host.name} started: ${why}; ${what}${not}`,
    data: { hostId: host.id, state: 'started', jobId: host.failoverJobId, restart, cannot },
  };
}

export function vmFailoverEvent(vm: { id: string; name: string }, hostName: string, o: HaVmOutcome): EventDraft {
  const message = o.restarted
    ? `${vm.name}: ${o.started ? 'restarted' : 'moved (it was stopped, not started)'} on ${o.host} (epoch ${o.epoch}) after host ${hostName} failed`
    : `${vm.name}: not restarted after host ${hostName} failed: ${o.reason}`;
  return { kind: 'vm.failover', resource: vm.name, message, data: { id: vm.id, from: hostName, ...o } };
}

export function failoverFinishedEvent(hostName: string, hostId: string, summary: string, restarted: number, notRestarted: number): EventDraft {
  return {
    kind: 'ha.failover', resource: hostName,
    message: `failover of host ${hostName} finished: ${summary}`,
    data: { hostId, state: 'finished', restarted, notRestarted },
  };
}
