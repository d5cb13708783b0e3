// Pure: noticing a live migration whose data stopped moving (the link to the
// target dropped, or the target hangs). TCP would keep retrying for many
// minutes; we give up after a quiet period so the VM goes on undisturbed on
// its source. The clock is passed in.

/** How long no byte may move (RAM or disk mirror) before the migration is given up. */
export const STALL_TIMEOUT_MS = 20_000;

export interface StallWatch {
  /** The progress counter last seen grow, and when. */
  bytes: number;
  sinceMs: number;
}

export function startStallWatch(nowMs: number): StallWatch {
  return { bytes: 0, sinceMs: nowMs };
}

/**
 * Feeds the latest progress (bytes moved so far, RAM and disks together).
 * Returns the new watch and, when nothing moved for `timeoutMs`, the reason
 * to give up.
 */
export function observeProgress(w: StallWatch, bytes: number, nowMs: number, timeoutMs = STALL_TIMEOUT_MS): { watch: StallWatch; stalled?: string } {
  if (bytes > w.bytes) return { watch: { bytes, sinceMs: nowMs } };
  const quietMs = nowMs - w.sinceMs;
  if (quietMs < timeoutMs) return { watch: w };
  return { watch: w, stalled: `no data moved to the target for ${Math.round(quietMs / 1000)} s (link down or target hung)` };
}
