// How long a live migration takes, from the VM's memory, the rate it dirties
// memory and the bandwidth: precopy passes, each sending what the previous
// pass left dirty, until what remains fits the downtime budget; then a last
// stop-and-copy. A guest that dirties at 90% of the bandwidth or more is
// throttled (auto-converge, as src/core/migration-policy.ts does for real)
// down to half the bandwidth. Plus a fixed setup time.

export interface MigrationModel {
  memoryMiB: number;
  dirtyMiBs: number;
  bandwidthMiBs: number;
  setupSeconds: number;
  maxDowntimeMs?: number;
}

export interface MigrationEstimate {
  seconds: number;
  passes: number;
  /** MiB sent in all. */
  sentMiB: number;
  throttled: boolean;
}

const MAX_PASSES = 30;

export function migrationEstimate(m: MigrationModel): MigrationEstimate {
  const b = Math.max(m.bandwidthMiBs, 1e-6);
  const throttled = m.dirtyMiBs >= 0.9 * b;
  const d = throttled ? 0.5 * b : m.dirtyMiBs;
  const budget = ((m.maxDowntimeMs ?? 300) / 1000) * b; // MiB that fit in the downtime
  let remaining = m.memoryMiB;
  let seconds = 0;
  let sent = 0;
  let passes = 0;
  while (remaining > budget && passes < MAX_PASSES) {
    const dt = remaining / b;
    seconds += dt;
    sent += remaining;
    remaining = Math.min(m.memoryMiB, d * dt);
    passes++;
  }
  seconds += remaining / b;
  sent += remaining;
  return { seconds: m.setupSeconds + seconds, passes: passes + 1, sentMiB: sent, throttled };
}
