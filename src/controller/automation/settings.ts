// The cluster's automation settings, kept in the store (kind 'automation', id
// 'settings'); defaults until someone changes them. PUT /v1/automation
// changes the fields it names: the schema (src/api/automation.ts) checks
// their values before the handler runs; unknown fields are refused here,
// before anything is written.
import { ApiError, ErrorCode } from '../../api/errors.js';
import { AUTOMATION_DEFAULTS, AUTOMATION_FIELDS, type AutomationSettings, type AutomationSettingsUpdate } from '../../api/automation.js';
import type { PlannerPolicy } from '../../core/planner/index.js';
import type { EventDraft } from '../events.js';
import { KIND, nowIso } from '../records.js';
import { createOp, putOp, retryOnConflict, type ControllerState } from '../state.js';

export const SETTINGS_ID = 'settings';

export async function loadSettings(state: ControllerState): Promise<AutomationSettings> {
  const stored = await state.store.get<AutomationSettings>(KIND.automation, SETTINGS_ID);
  return { ...AUTOMATION_DEFAULTS, ...stored?.data };
}

/** The first field of `body` the settings do not have, as the error that names it. */
export function unknownField(body: object): ApiError | undefined {
  const key = Object.keys(body).find((k) => !(AUTOMATION_FIELDS as string[]).includes(k));
  if (key === undefined) return undefined;
  return new ApiError(ErrorCode.invalid, `${key} is not an automation setting`, key, AUTOMATION_FIELDS.join(', '));
}

function settingsEvent(before: AutomationSettings, after: AutomationSettings): EventDraft {
  const changes = AUTOMATION_FIELDS.filter((k) => before[k] !== after[k]).map((k) => `${k} ${before[k]} -> ${after[k]}`);
  return { kind: 'automation.settings', resource: 'cluster', message: `automation settings: ${changes.join(', ')}`, data: { before, after } };
}

/** Applies an update (already schema-checked); refuses unknown fields and changes nothing then. */
export async function updateSettings(state: ControllerState, update: AutomationSettingsUpdate): Promise<AutomationSettings> {
  const unknown = unknownField(update);
  if (unknown) throw unknown;
  return retryOnConflict(async () => {
    const stored = await state.store.get<AutomationSettings>(KIND.automation, SETTINGS_ID);
    const before: AutomationSettings = { ...AUTOMATION_DEFAULTS, ...stored?.data };
    const after: AutomationSettings = { ...before, ...update };
    if (AUTOMATION_FIELDS.every((k) => before[k] === after[k])) return before;
    after.updatedAt = nowIso();
    await state.commit([stored ? putOp(KIND.automation, SETTINGS_ID, after, stored.rev) : createOp(KIND.automation, SETTINGS_ID, after)], [settingsEvent(before, after)]);
    return after;
  });
}

/** The planner policy the settings give: the balancer's level and moves per pass, the hosts' migration limit, F for HA admission, and when a VM is grown. */
export function automationPolicy(s: AutomationSettings, migrationsPerHost: number): PlannerPolicy {
  return { balance: { maxMoves: s.maxMoves, automation: s.balance }, migrationsPerHost, failures: s.haFailures, grow: { cpuAt: s.growAt } };
}
