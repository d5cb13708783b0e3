import { describe, expect, it } from 'vitest';
import { initialSettings, initialState, nextStep, type MigrationSample, type PolicyConfig, type PolicyState } from './migration-policy.js';

const GiB = 1024 ** 3;
const sample = (passes: number, remaining: number, transferred = passes * 0.3 * GiB): MigrationSample => ({
  passes, remainingBytes: remaining, transferredBytes: transferred, totalBytes: GiB, throttlePct: 0, throughputBytes: 100e6, postcopy: false,
});

function run(cfg: PolicyConfig, samples: MigrationSample[]): { state: PolicyState; actions: string[] } {
  let state = initialState(cfg);
  const actions: string[] = [];
  for (const m of samples) {
    const r = nextStep(cfg, state, m);
    state = r.state;
    actions.push(...r.actions.map((a) => (a.kind === 'set-downtime' ? `downtime ${a.ms}` : a.kind)));
  }
  return { state, actions };
}

describe('migration policy', () => {
  it('auto starts low, arms auto-converge at a negligible step, and asks for postcopy only when allowed', () => {
    expect(initialSettings({ strategy: 'auto', maxDowntimeMs: 300, allowPostcopy: false })).toEqual({
      downtimeLimitMs: 50, autoConverge: true, postcopyCapability: false, throttleInitialPct: 1, throttleIncrementPct: 1,
    });
    expect(initialSettings({ strategy: 'auto', maxDowntimeMs: 20, allowPostcopy: true }).downtimeLimitMs).toBe(20);
    expect(initialSettings({ strategy: 'auto', maxDowntimeMs: 300, allowPostcopy: true }).postcopyCapability).toBe(true);
    expect(initialSettings({ strategy: 'precopy', maxDowntimeMs: 300, allowPostcopy: true })).toMatchObject({ downtimeLimitMs: 300, autoConverge: false, postcopyCapability: false });
  });

  it('a converging migration is left alone', () => {
    const cfg: PolicyConfig = { strategy: 'auto', maxDowntimeMs: 300, allowPostcopy: true };
    const r = run(cfg, [sample(1, 800e6), sample(2, 300e6), sample(3, 100e6), sample(4, 20e6)]);
    expect(r.actions).toEqual([]);
    expect(r.state.path).toEqual(['precopy']);
  });

  it('raises the downtime limit to what the stalled pass needs when that fits under the maximum', () => {
    const cfg: PolicyConfig = { strategy: 'auto', maxDowntimeMs: 300, allowPostcopy: true };
    // 20 MB left at 100 MB/s: 200 ms, plus a fifth.
    const r = run(cfg, [sample(1, 20e6), sample(2, 20e6), sample(3, 20e6)]);
    expect(r.actions).toEqual(['downtime 240']);
    expect(r.state.path).toEqual(['precopy', 'downtime-raised']);
  });

  it('escalates in order when passes stall beyond what downtime can cover: maximum downtime with auto-converge, then postcopy', () => {
    const cfg: PolicyConfig = { strategy: 'auto', maxDowntimeMs: 300, allowPostcopy: true };
    const stalled = Array.from({ length: 16 }, (_, i) => sample(i + 1, 500e6, 0.05 * GiB * (i + 1)));
    const r = run(cfg, stalled);
    expect(r.actions).toEqual(['downtime 300', 'set-throttle', 'start-postcopy']);
    expect(r.state.path).toEqual(['precopy', 'downtime-raised', 'auto-converge', 'postcopy']);
  });

  it('without postcopy, auto stops escalating at auto-converge (QEMU throttles harder by itself)', () => {
    const cfg: PolicyConfig = { strategy: 'auto', maxDowntimeMs: 100, allowPostcopy: false };
    const r = run(cfg, Array.from({ length: 30 }, (_, i) => sample(i + 1, 500e6, 3 * GiB)));
    expect(r.actions).toEqual(['downtime 100', 'set-throttle']);
    expect(r.state.stage).toBe('auto-converge');
  });

  it('switches to postcopy once 1.5x the RAM was sent, bounding the bytes on the wire', () => {
    const cfg: PolicyConfig = { strategy: 'auto', maxDowntimeMs: 300, allowPostcopy: true };
    const r = run(cfg, [sample(1, 900e6, 0.5 * GiB), sample(2, 600e6, 1.6 * GiB)]);
    expect(r.actions).toEqual(['start-postcopy']);
  });

  it('precopy never escalates; postcopy switches after the first full pass, once', () => {
    const stalled = Array.from({ length: 10 }, (_, i) => sample(i + 1, 500e6));
    expect(run({ strategy: 'precopy', maxDowntimeMs: 300, allowPostcopy: true }, stalled).actions).toEqual([]);
    expect(run({ strategy: 'postcopy', maxDowntimeMs: 300, allowPostcopy: true }, stalled).actions).toEqual(['start-postcopy']);
  });

  it('a sample already in postcopy (QEMU switched) is recorded in the path', () => {
    const cfg: PolicyConfig = { strategy: 'auto', maxDowntimeMs: 300, allowPostcopy: true };
    const r = nextStep(cfg, initialState(cfg), { ...sample(3, 1e6), postcopy: true });
    expect(r.state.path).toEqual(['precopy', 'postcopy']);
    expect(r.actions).toEqual([]);
  });
});
