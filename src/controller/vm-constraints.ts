// A VM's placement settings (ha, haPriority, hostRules) and groups on the
// way in: checked with the field at fault named, normalized, and the
// placement refusals turned into errors that say which constraint stopped it.
import { ApiError, ErrorCode } from '../api/errors.js';
import type { HostRuleInput } from '../api/labels.js';
import type { VmSpec } from '../api/resources.js';
import { checkHostRules, LabelError, normalizeHostRules } from '../core/labels.js';
import { admissionError } from './ha/admission.js';
import type { Why } from './plan-placement.js';
import type { GroupRecord } from './records.js';
import type { Versioned } from './state.js';

/** The rules checked and normalized (strength filled in, each rule once); a bad one is a 400 naming its field. */
export function hostRulesOf(rules: readonly HostRuleInput[] | undefined, field = 'hostRules'): NonNullable<VmSpec['hostRules']> {
  if (!rules) return [];
  try {
    checkHostRules(rules, field);
  } catch (err) {
    if (err instanceof LabelError) throw new ApiError(ErrorCode.invalid, err.message, err.field, err.allowed);
    throw err;
  }
  return normalizeHostRules(rules);
}

/** The placement fields of a new VM's spec: ha and haPriority always, host rules when it has any. */
export function constraintSpec(req: { ha?: boolean; haPriority?: number; hostRules?: HostRuleInput[] }): Pick<VmSpec, 'ha' | 'haPriority' | 'hostRules'> {
  const rules = hostRulesOf(req.hostRules);
  return { ha: req.ha === true, haPriority: req.haPriority ?? 0, ...(rules.length > 0 ? { hostRules: rules } : {}) };
}

/** The groups a new VM joins, by name; a missing one is a 404 naming `groups[i]`. */
export function groupsToJoin(all: readonly Versioned<GroupRecord>[], names: readonly string[] | undefined): Versioned<GroupRecord>[] {
  const out: Versioned<GroupRecord>[] = [];
  (names ?? []).forEach((name, i) => {
    const g = all.find((x) => x.id === name);
    if (!g) throw new ApiError(ErrorCode.notFound, `no group named "${name}"; create it with \`drover group create ${name} --kind anti-affinity\` or see \`drover group list\``, `groups[${i}]`);
    if (!out.includes(g)) out.push(g);
  });
  return out;
}

const RESOURCES = new Set(['memory', 'cpu', 'disk']);

/**
 * Why placement found no host, as the API error: not enough room is
 * `unavailable` (field memoryMiB or cpus); a constraint that no host meets
 * is `conflict`, naming the field that set it (groups or hostRules); HA
 * admission (room for `failures` failed hosts) is `conflict` on field ha.
 */
export function placementError(why: Why, what = 'the VM', failures = 0): ApiError {
  const c = why.constraints.filter((x) => x !== 'none' && x !== 'host-state' && x !== 'excluded');
  if (c.includes('ha-admission')) return admissionError(failures, `no host can take ${what} and keep that room (${why.text})`);
  if (c.length === 0 || c.every((x) => RESOURCES.has(x))) {
    const field = c.includes('memory') || c.length === 0 ? 'memoryMiB' : c.includes('cpu') ? 'cpus' : 'diskBytes';
    return new ApiError(ErrorCode.unavailable, `not enough memory or CPU for ${what} on any candidate host (${why.text})`, field);
  }
  const field = c.includes('affinity') || c.includes('anti-affinity') ? 'groups' : c.includes('host-label') ? 'hostRules' : undefined;
  return new ApiError(ErrorCode.conflict, `no host can take ${what} under its constraints (${why.text})`, field);
}
