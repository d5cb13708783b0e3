// Pure: how a live migration is tuned while it runs, so that it always
// converges. No I/O and no clock; the agent samples QEMU and applies the
// actions. Strategy `auto` escalates in this order, each step only when the
// previous one did not make the migration converge:
//   1. precopy with a low downtime limit;
//   2. raise the downtime limit to what the last pass needed (remaining bytes
//      over the measured throughput, plus a fifth), when that fits under the
//      VM's maximum downtime;
//   3. else the maximum downtime and auto-converge: CPU throttling of the guest
//      (armed from the start at a negligible 1% step, made real here: 30% then
//      +20% per pass QEMU finds the guest still dirtying faster than we send);
//   4. postcopy, when allowed: the guest runs on the target at once and
//      pulls the pages it still lacks (bounded bytes, but see docs/migration.md).
// `precopy` never escalates (QEMU's own behaviour, the baseline); `postcopy`
// switches after the first full pass.
export type Strategy = 'auto' | 'precopy' | 'postcopy';

export interface PolicyConfig {
  strategy: Strategy;
  maxDowntimeMs: number;
  allowPostcopy: boolean;
}

export interface MigrationSample {
  /** Completed dirty-sync passes (QEMU's dirty-sync-count). */
  passes: number;
  transferredBytes: number;
  remainingBytes: number;
  totalBytes: number;
  throttlePct: number;
  /** Bytes/s sent in the last period (QEMU's mbps). */
  throughputBytes: number;
  postcopy: boolean;
}

export type Stage = 'precopy' | 'downtime-raised' | 'auto-converge' | 'postcopy';

export interface PolicyState {
  stage: Stage;
  downtimeLimitMs: number;
  /** The pass count and remaining bytes when we last looked at a new pass. */
  lastPass: number;
  lastRemaining: number;
  /** Consecutive passes that did not shrink the remaining bytes by a tenth. */
  stalledPasses: number;
  path: string[];
}

export type PolicyAction =
  | { kind: 'set-downtime'; ms: number }
  | { kind: 'set-throttle'; initialPct: number; incrementPct: number }
  | { kind: 'start-postcopy' };

export interface InitialSettings {
  downtimeLimitMs: number;
  autoConverge: boolean;
  postcopyCapability: boolean;
  throttleInitialPct: number;
  throttleIncrementPct: number;
}

export const AUTO_START_DOWNTIME_MS = 50;
export const THROTTLE_REAL = { initialPct: 30, incrementPct: 20 } as const;
/** Passes without progress before the next escalation step. */
export const STALL_PASSES = 2;
/** Postcopy at the latest once this many times the guest's RAM was sent: bounds the bytes on the wire. */
export const POSTCOPY_AFTER_RAM_FACTOR = 1.5;

export function initialSettings(cfg: PolicyConfig): InitialSettings {
  const auto = cfg.strategy === 'auto';
  return {
    downtimeLimitMs: auto ? Math.min(AUTO_START_DOWNTIME_MS, cfg.maxDowntimeMs) : cfg.maxDowntimeMs,
    autoConverge: auto,
    postcopyCapability: cfg.strategy === 'postcopy' || (auto && cfg.allowPostcopy),
    throttleInitialPct: 1,
    throttleIncrementPct: 1,
  };
}

export function initialState(cfg: PolicyConfig): PolicyState {
  return { stage: 'precopy', downtimeLimitMs: initialSettings(cfg).downtimeLimitMs, lastPass: 0, lastRemaining: Number.POSITIVE_INFINITY, stalledPasses: 0, path: ['precopy'] };
}

/** The actions one new sample calls for, and the policy's next state. */
export function nextStep(cfg: PolicyConfig, s: PolicyState, m: MigrationSample): { state: PolicyState; actions: PolicyAction[] } {
  if (m.postcopy || s.stage === 'postcopy') return { state: withPath(s, 'postcopy', 'postcopy'), actions: [] };
  if (cfg.strategy === 'precopy') return { state: s, actions: [] };
  if (cfg.strategy === 'postcopy') {
    return m.passes >= 2 ? { state: withPath(s, 'postcopy', 'postcopy'), actions: [{ kind: 'start-postcopy' }] } : { state: s, actions: [] };
  }
  if (m.passes <= s.lastPass) return { state: s, actions: [] };
  const stalled = m.remainingBytes > 0.9 * s.lastRemaining;
  const state: PolicyState = { ...s, lastPass: m.passes, lastRemaining: m.remainingBytes, stalledPasses: stalled ? s.stalledPasses + 1 : 0 };
  if (cfg.allowPostcopy && m.transferredBytes >= POSTCOPY_AFTER_RAM_FACTOR * m.totalBytes) return postcopy(state);
  if (m.passes <= 1 || state.stalledPasses < STALL_PASSES) return { state, actions: [] };
  return escalate(cfg, state, m);
}

function escalate(cfg: PolicyConfig, s: PolicyState, m: MigrationSample): { state: PolicyState; actions: PolicyAction[] } {
  const reset = { ...s, stalledPasses: 0 };
  const neededMs = m.throughputBytes > 0 ? Math.ceil((1.2 * 1000 * m.remainingBytes) / m.throughputBytes) : Number.POSITIVE_INFINITY;
  if (s.stage === 'precopy' || s.stage === 'downtime-raised') {
    if (neededMs <= cfg.maxDowntimeMs && neededMs > s.downtimeLimitMs) {
      return { state: { ...withPath(reset, 'downtime-raised', 'downtime-raised'), downtimeLimitMs: neededMs }, actions: [{ kind: 'set-downtime', ms: neededMs }] };
    }
    const raise: PolicyAction[] = s.downtimeLimitMs < cfg.maxDowntimeMs ? [{ kind: 'set-downtime', ms: cfg.maxDowntimeMs }] : [];
    const state = raise.length ? withPath(reset, 'downtime-raised', 'downtime-raised') : reset;
    return { state: { ...withPath(state, 'auto-converge', 'auto-converge'), downtimeLimitMs: cfg.maxDowntimeMs }, actions: [...raise, { kind: 'set-throttle', ...THROTTLE_REAL }] };
  }
  if (cfg.allowPostcopy) return postcopy(reset);
  return { state: reset, actions: [] }; // auto-converge keeps throttling harder every pass, up to 99%
}

function postcopy(s: PolicyState): { state: PolicyState; actions: PolicyAction[] } {
  return { state: withPath(s, 'postcopy', 'postcopy'), actions: [{ kind: 'start-postcopy' }] };
}

function withPath(s: PolicyState, stage: Stage, step: string): PolicyState {
  return { ...s, stage, path: s.path.includes(step) ? s.path : [...s.path, step] };
}
