// Host labels and VM host rules on the wire. The schema checks the shapes;
// the controller checks keys and values with src/core/labels.ts, so a bad
// one is refused with its field named (`set.zone`, `hostRules[0].labels`).
import { Type, type Static } from 'typebox';
import { LABEL_KEY_RULE, LABEL_LIMITS, LABEL_VALUE_RULE } from '../core/labels.js';

export const LabelMap = Type.Record(Type.String(), Type.String(), { description: `label key -> value; keys: ${LABEL_KEY_RULE}; values: ${LABEL_VALUE_RULE}` });
export const RuleStrength = Type.Union([Type.Literal('must'), Type.Literal('should')]);

/** A rule as stored in a VM's spec: the host must (or should) carry every label. */
export const HostRuleSchema = Type.Object({
  labels: LabelMap,
  strength: RuleStrength,
}, { description: 'the VM runs only (must) or preferably (should) on hosts that carry every one of these labels' });
export type HostRuleSchema = Static<typeof HostRuleSchema>;

/** A rule in a request: strength defaults to must. */
export const HostRuleInput = Type.Object({
  labels: LabelMap,
  strength: Type.Optional(RuleStrength),
});
export type HostRuleInput = Static<typeof HostRuleInput>;

export const HostRulesInput = Type.Array(HostRuleInput, { maxItems: LABEL_LIMITS.maxRules });

/** PUT /v1/hosts/:name/labels: labels to set (added or changed) and keys to remove; the others stay. */
export const HostLabelsRequest = Type.Object({
  set: Type.Optional(LabelMap),
  remove: Type.Optional(Type.Array(Type.String())),
});
export type HostLabelsRequest = Static<typeof HostLabelsRequest>;

export const HaPriority = Type.Integer({ minimum: LABEL_LIMITS.minPriority, maximum: LABEL_LIMITS.maxPriority, description: 'HA restart priority: higher restarts first (default 0)' });
