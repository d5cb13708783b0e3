// User input for placement constraints: host labels (key=value), VM host
// rules (k=v[,k=v][:must|:should]), HA priority, group kinds. Every failure
// is a UsageError naming the option and what it allows, raised before any call.
import type { HostRuleInput } from '../api/labels.js';
import { checkHostRules, checkLabelKey, checkLabelValue, LABEL_KEY_RULE, LABEL_LIMITS, LABEL_VALUE_RULE, LabelError, type Labels } from '../core/labels.js';
import { UsageError } from './output.js';

const LABEL_FORM = `key=value; keys: ${LABEL_KEY_RULE}; values: ${LABEL_VALUE_RULE}`;
const RULE_FORM = 'key=value[,key=value...][:must|:should] (e.g. zone=a, zone=a,disk=ssd:should); must is the default';

function usage(err: unknown, option: string): never {
  if (err instanceof LabelError) throw new UsageError(err.message.replace(/^[^:]*: /, `${option}: `), option, err.allowed);
  throw err;
}

/** "key=value" -> [key, value], both checked. */
export function parseLabel(text: string, option: string): [string, string] {
  const i = text.indexOf('=');
  if (i <= 0) throw new UsageError(`${option} "${text}" is not a label; give it as key=value`, option, LABEL_FORM);
  const key = text.slice(0, i);
  const value = text.slice(i + 1);
  try {
    checkLabelKey(key, option);
    checkLabelValue(key, value, option);
  } catch (err) {
    usage(err, option);
  }
  return [key, value];
}

/** Labels to set (KEY=VALUE arguments) and keys to remove (--remove). */
export function buildLabelsRequest(pairs: readonly string[], remove: readonly string[]): { set?: Labels; remove?: string[] } {
  const set: Labels = {};
  for (const p of pairs) {
    const [k, v] = parseLabel(p, 'LABEL');
    if (k in set && set[k] !== v) throw new UsageError(`label ${k} is given twice with different values`, 'LABEL', 'each key once');
    set[k] = v;
  }
  const keys = remove.flatMap((r) => r.split(',')).map((k) => k.trim()).filter((k) => k !== '');
  for (const k of keys) {
    try {
      checkLabelKey(k, '--remove');
    } catch (err) {
      usage(err, '--remove');
    }
    if (k in set) throw new UsageError(`label ${k} is both set and removed`, '--remove', 'a key not set in the same command');
  }
  if (Object.keys(set).length === 0 && keys.length === 0) throw new UsageError('nothing to change: give labels as key=value and/or --remove KEY', 'LABEL', LABEL_FORM);
  if (Object.keys(set).length > LABEL_LIMITS.maxLabels) throw new UsageError(`too many labels (${Object.keys(set).length})`, 'LABEL', `at most ${LABEL_LIMITS.maxLabels}`);
  return { ...(Object.keys(set).length ? { set } : {}), ...(keys.length ? { remove: keys } : {}) };
}

/** "zone=a,rack=r1:should" -> a host rule. */
export function parseHostRule(text: string, option = '--host-rule'): HostRuleInput {
  const parts = text.split(':');
  if (parts.length > 2) throw new UsageError(`${option} "${text}" has more than one ':'`, option, RULE_FORM);
  const strength = parts[1]?.trim().toLowerCase() ?? 'must';
  if (strength !== 'must' && strength !== 'should') throw new UsageError(`${option} "${text}" ends in ":${parts[1]}"; the strength is must or should`, option, RULE_FORM);
  const labels: Labels = {};
  for (const pair of parts[0]!.split(',')) {
    if (pair.trim() === '') throw new UsageError(`${option} "${text}" has an empty label`, option, RULE_FORM);
    const [k, v] = parseLabel(pair.trim(), option);
    if (k in labels) throw new UsageError(`${option} "${text}" names label ${k} twice`, option, RULE_FORM);
    labels[k] = v;
  }
  return { labels, strength };
}

export function parseHostRules(texts: readonly string[], option = '--host-rule'): HostRuleInput[] {
  const rules = texts.map((t) => parseHostRule(t, option));
  try {
    checkHostRules(rules);
  } catch (err) {
    usage(err, option);
  }
  return rules;
}

/** An integer in a range (negative allowed). */
export function parseInteger(text: string, option: string, min: number, max: number): number {
  if (!/^-?\d+$/.test(text.trim()) || Number(text) < min || Number(text) > max) {
    throw new UsageError(`${option} "${text}" is not a whole number from ${min} to ${max}`, option, `${min} to ${max}`);
  }
  return Number(text);
}

export function parseHaPriority(text: string): number {
  return parseInteger(text, '--ha-priority', LABEL_LIMITS.minPriority, LABEL_LIMITS.maxPriority);
}

export function parseChoice<T extends string>(text: string, option: string, allowed: readonly T[]): T {
  const v = allowed.find((a) => a === text.trim().toLowerCase());
  if (!v) throw new UsageError(`${option} "${text}" is not one of ${allowed.join(', ')}`, option, allowed.join(', '));
  return v;
}
