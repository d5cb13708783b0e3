// The events automation records (on the event stream, /v1/events):
// `recommendation` for each action of a recommend level, `automation` for
// each action of an automatic level with its outcome, and `automation` for a
// pass that failed. Each carries the decision in full (reason, numbers,
// wave, outcome, migration and job ids) as its data.
import type { Recommendation } from '../../api/automation.js';
import type { ClusterSnapshot } from '../../core/planner/index.js';
import type { EventDraft } from '../events.js';

/** The VM a migration moves, or the host a power action concerns, by name. */
function resourceOf(r: Recommendation, s: ClusterSnapshot | undefined): string {
  const a = r.action;
  if ('vm' in a) return s?.vms.find((v) => v.id === a.vm)?.name ?? a.vm;
  return s?.hosts.find((h) => h.id === a.host)?.name ?? a.host;
}

export function recommendationEvent(r: Recommendation, s: ClusterSnapshot): EventDraft {
  return { kind: 'recommendation', resource: resourceOf(r, s), message: `recommend (${r.goal}): ${r.summary}; ${r.reason}`, data: r };
}

export function automationEvent(r: Recommendation, s: ClusterSnapshot): EventDraft {
  const outcome = r.detail ? `${r.state}: ${r.detail}` : r.state;
  return { kind: 'automation', resource: resourceOf(r, s), message: `automatic (${r.goal}): ${r.summary}: ${outcome}; ${r.reason}`, data: r };
}

export function passFailedEvent(error: string): EventDraft {
  return { kind: 'automation', resource: 'cluster', message: `automation pass failed: ${error}`, data: { state: 'failed', error } };
}
