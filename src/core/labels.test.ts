import { describe, expect, it } from 'vitest';
import { checkHostRules, checkLabels, formatHostRule, LabelError, labelsMatch, normalizeHostRules } from './labels.js';

const errorOf = (fn: () => void) => {
  try {
    fn();
  } catch (e) {
    return e as LabelError;
  }
  return undefined;
};

describe('labels and host rules', () => {
  it('takes good keys and values', () => {
    expect(errorOf(() => checkLabels({ zone: 'a', 'topology.example/rack': 'R12', 'disk_type': 'nvme-1.0' }, 'set'))).toBeUndefined();
  });

  it('names the field and what it allows for a bad key or value', () => {
    expect(errorOf(() => checkLabels({ Zone: 'a' }, 'set'))).toMatchObject({ field: 'set', message: expect.stringMatching(/^set: label key "Zone" is not valid: use 1-63 lowercase/) });
    expect(errorOf(() => checkLabels({ zone: '-a' }, 'set'))).toMatchObject({ field: 'set.zone', allowed: expect.stringMatching(/^1-63 letters/) });
    expect(errorOf(() => checkLabels({ ['k'.repeat(64)]: 'a' }, 'set'))?.field).toBe('set');
    expect(errorOf(() => checkLabels({ 'drover.internal/x': 'a' }, 'set'))?.message).toMatch(/reserved/);
  });

  it('checks host rules: a label at least, a strength of must or should, within the limits', () => {
    expect(errorOf(() => checkHostRules([{ labels: {} }]))).toMatchObject({ field: 'hostRules[0].labels' });
    expect(errorOf(() => checkHostRules([{ labels: { zone: 'a' }, strength: 'maybe' }]))).toMatchObject({ field: 'hostRules[0].strength' });
    expect(errorOf(() => checkHostRules(Array.from({ length: 9 }, () => ({ labels: { a: 'b' } }))))).toMatchObject({ field: 'hostRules' });
    expect(errorOf(() => checkHostRules([{ labels: { zone: 'a' } }, { labels: { zone: 'a b' } }]))).toMatchObject({ field: 'hostRules[1].labels.zone' });
  });

  it('normalizes rules (must by default, keys sorted, each rule once), matches and formats them', () => {
    const rules = normalizeHostRules([{ labels: { zone: 'a', disk: 'ssd' } }, { labels: { disk: 'ssd', zone: 'a' }, strength: 'must' }, { labels: { rack: 'r1' }, strength: 'should' }]);
    expect(rules).toEqual([{ labels: { disk: 'ssd', zone: 'a' }, strength: 'must' }, { labels: { rack: 'r1' }, strength: 'should' }]);
    expect(rules.map(formatHostRule)).toEqual(['disk=ssd,zone=a', 'rack=r1:should']);
    expect(labelsMatch({ zone: 'a', disk: 'ssd', x: 'y' }, rules[0]!)).toBe(true);
    expect(labelsMatch({ zone: 'a' }, rules[0]!)).toBe(false);
    expect(labelsMatch(undefined, rules[0]!)).toBe(false);
  });
});
