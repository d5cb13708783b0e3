// PUT /v1/hosts/:name/labels: labels to set and keys to remove; the labels
// not named stay. Keys and values are checked (src/core/labels.ts) and a bad
// one is refused with its field named, before anything changes. VM host
// rules match these labels (placement, migration targets, the balancer).
import { ApiError, ErrorCode } from '../api/errors.js';
import type { HostLabelsRequest } from '../api/labels.js';
import { checkLabelKey, checkLabels, formatLabels, LABEL_LIMITS, LabelError, type Labels } from '../core/labels.js';
import type { ControllerContext } from './context.js';
import type { EventDraft } from './events.js';
import { KIND, type HostRecord } from './records.js';
import { putOp, retryOnConflict } from './state.js';

function invalid(err: unknown): never {
  if (err instanceof LabelError) throw new ApiError(ErrorCode.invalid, err.message, err.field, err.allowed);
  throw err;
}

/** Pure: the labels after the change, or an `invalid` ApiError naming the field. */
export function changedLabels(current: Labels | undefined, req: HostLabelsRequest): Labels {
  const set = req.set ?? {};
  const remove = req.remove ?? [];
  if (Object.keys(set).length === 0 && remove.length === 0) {
    throw new ApiError(ErrorCode.invalid, 'nothing to change: give labels to set ({"set": {"zone": "a"}}) and/or keys to remove ({"remove": ["zone"]})', 'set');
  }
  try {
    checkLabels(set, 'set');
    remove.forEach((k, i) => checkLabelKey(k, `remove[${i}]`));
  } catch (err) {
    invalid(err);
  }
  remove.forEach((k, i) => {
    if (k in set) throw new ApiError(ErrorCode.invalid, `remove[${i}]: label ${k} is both set and removed; give it in one of them`, `remove[${i}]`);
  });
  const next: Labels = { ...current, ...set };
  for (const k of remove) delete next[k];
  const n = Object.keys(next).length;
  if (n > LABEL_LIMITS.maxLabels) throw new ApiError(ErrorCode.invalid, `set: a host holds at most ${LABEL_LIMITS.maxLabels} labels (this would make ${n})`, 'set', `at most ${LABEL_LIMITS.maxLabels} labels`);
  return Object.fromEntries(Object.entries(next).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

function labelsEvent(host: HostRecord, before: Labels | undefined, after: Labels): EventDraft {
  return { kind: 'host.labels', resource: host.name, message: `host ${host.name} labels: ${formatLabels(after) || '(none)'}`, data: { id: host.id, before: before ?? {}, after } };
}

export async function setHostLabels(ctx: ControllerContext, host: HostRecord, req: HostLabelsRequest): Promise<HostRecord> {
  changedLabels(host.labels, req); // refuse bad input before reading again
  return retryOnConflict(async () => {
    const current = await ctx.state.getHost(host.id);
    if (!current) throw new ApiError(ErrorCode.notFound, `host ${host.name} no longer exists`, 'name');
    const labels = changedLabels(current.data.labels, req);
    if (formatLabels(labels) === formatLabels(current.data.labels)) return current.data;
    const { labels: _old, ...rest } = current.data;
    const next: HostRecord = Object.keys(labels).length > 0 ? { ...rest, labels } : rest;
    await ctx.state.commit([putOp(KIND.host, host.id, next, current.rev)], [labelsEvent(next, current.data.labels, labels)]);
    return next;
  });
}
