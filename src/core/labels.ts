// Host labels and the VM host rules that match them (key=value pairs), and
// the rules both obey. One rule set for the API, the CLI and the store; the
// planner (src/core/planner) matches rules against labels.

export const LABEL_LIMITS = {
  /** Labels one host holds at most. */
  maxLabels: 32,
  /** Host rules one VM has at most, and labels one rule names at most. */
  maxRules: 8,
  maxRuleLabels: 8,
  /** HA priority range (higher restarts first). */
  minPriority: -1000,
  maxPriority: 1000,
} as const;

export const LABEL_KEY_PATTERN = '^[a-z0-9]([a-z0-9._/-]{0,61}[a-z0-9])?$';
export const LABEL_VALUE_PATTERN = '^[A-Za-z0-9]([A-Za-z0-9._-]{0,61}[A-Za-z0-9])?$';
export const LABEL_KEY_RULE = "1-63 lowercase letters, digits, '.', '_', '-' and '/', starting and ending with a letter or digit";
export const LABEL_VALUE_RULE = "1-63 letters, digits, '.', '_' and '-', starting and ending with a letter or digit";

const KEY_RE = new RegExp(LABEL_KEY_PATTERN);
const VALUE_RE = new RegExp(LABEL_VALUE_PATTERN);

export type Labels = Record<string, string>;
export type RuleStrength = 'must' | 'should';
export interface HostRule {
  labels: Labels;
  strength: RuleStrength;
}

/** A bad label or rule: `field` names it (e.g. `set.zone`, `hostRules[1].labels`), `allowed` says what it allows. */
export class LabelError extends Error {
  constructor(
    readonly field: string,
    message: string,
    readonly allowed?: string,
  ) {
    super(message);
    this.name = 'LabelError';
  }
}

/** Keys under this prefix are Drover's own (the controller uses them inside its plans). */
export const RESERVED_LABEL_PREFIX = 'drover.internal/';

export function checkLabelKey(key: string, field: string): void {
  if (!KEY_RE.test(key)) throw new LabelError(field, `${field}: label key ${JSON.stringify(key)} is not valid: use ${LABEL_KEY_RULE}`, LABEL_KEY_RULE);
  if (key.startsWith(RESERVED_LABEL_PREFIX)) throw new LabelError(field, `${field}: label key ${JSON.stringify(key)} is reserved: keys starting with ${RESERVED_LABEL_PREFIX} are Drover's own`, `a key not starting with ${RESERVED_LABEL_PREFIX}`);
}

export function checkLabelValue(key: string, value: unknown, field: string): void {
  if (typeof value !== 'string' || !VALUE_RE.test(value)) {
    throw new LabelError(field, `${field}: the value ${JSON.stringify(value)} of label ${key} is not valid: use ${LABEL_VALUE_RULE}`, LABEL_VALUE_RULE);
  }
}

/** Checks every key and value of a label map; `field` is the map's field (keys are reported as `field.KEY`). */
export function checkLabels(labels: Labels, field: string): void {
  for (const [k, v] of Object.entries(labels)) {
    checkLabelKey(k, field);
    checkLabelValue(k, v, `${field}.${k}`);
  }
}

/** Checks a VM's host rules: at least one label each, valid keys and values, must or should, within the limits. */
export function checkHostRules(rules: ReadonlyArray<{ labels: Labels; strength?: string }>, field = 'hostRules'): void {
  if (rules.length > LABEL_LIMITS.maxRules) throw new LabelError(field, `${field}: a VM has at most ${LABEL_LIMITS.maxRules} host rules (got ${rules.length})`, `at most ${LABEL_LIMITS.maxRules} rules`);
  rules.forEach((r, i) => {
    const f = `${field}[${i}]`;
    const n = Object.keys(r.labels).length;
    if (n === 0) throw new LabelError(`${f}.labels`, `${f}.labels: a host rule names at least one label (key=value)`, 'at least one label');
    if (n > LABEL_LIMITS.maxRuleLabels) throw new LabelError(`${f}.labels`, `${f}.labels: a host rule names at most ${LABEL_LIMITS.maxRuleLabels} labels`, `at most ${LABEL_LIMITS.maxRuleLabels} labels`);
    checkLabels(r.labels, `${f}.labels`);
    if (r.strength !== undefined && r.strength !== 'must' && r.strength !== 'should') throw new LabelError(`${f}.strength`, `${f}.strength must be must or should`, 'must, should');
  });
}

/** Rules with their strength filled in (must when absent), each rule once. */
export function normalizeHostRules(rules: ReadonlyArray<{ labels: Labels; strength?: RuleStrength }>): HostRule[] {
  const out: HostRule[] = [];
  const seen = new Set<string>();
  for (const r of rules) {
    const labels = Object.fromEntries(Object.entries(r.labels).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
    const rule: HostRule = { labels, strength: r.strength ?? 'must' };
    const key = JSON.stringify(rule);
    if (seen.has(key)) continue;
    seen.add(key);
    out.push(rule);
  }
  return out;
}

/** Whether the labels carry every key=value of the rule. */
export function labelsMatch(labels: Labels | undefined, rule: { labels: Labels }): boolean {
  return Object.entries(rule.labels).every(([k, v]) => labels?.[k] === v);
}

/** "zone=a,rack=r1" (keys sorted). */
export function formatLabels(labels: Labels | undefined): string {
  return Object.entries(labels ?? {}).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([k, v]) => `${k}=${v}`).join(',');
}

/** "zone=a,rack=r1" for must, "zone=a:should" for should. */
export function formatHostRule(rule: HostRule): string {
  return `${formatLabels(rule.labels)}${rule.strength === 'should' ? ':should' : ''}`;
}
