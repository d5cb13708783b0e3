// The virtio-balloon's guest statistics (QEMU 7.2, docs/interop/virtio-balloon-stats.rst):
// QOM properties of the balloon device. Polling is off until an interval (in
// seconds) is written to guest-stats-polling-interval; guest-stats then holds
// the latest report. The balloon's size itself goes through query-balloon and
// balloon (commands.ts).
import type { GuestMemoryStats } from '../core/balloon-policy.js';
import { queryBalloon, setBalloon } from './commands.js';
import type { QmpClient } from './qmp-client.js';

/** QOM path of `-device virtio-balloon-pci,id=balloon0` (args.ts). */
export const BALLOON_QOM_PATH = '/machine/peripheral/balloon0';

const MiB = 1024 ** 2;

/**
 * The stat names QEMU 7.2 reports. The docs say -1 for a value the guest does
 * not (or could not) report; QEMU 7.2 actually sends that -1 as an unsigned
 * 64-bit number, 18446744073709551615 (parsed as 1.8446744073709552e19).
 */
export interface GuestStatsValues {
  /** Bytes swapped in since boot (the Linux driver sends pages × page size). */
  'stat-swap-in': number;
  'stat-swap-out': number;
  /** Counts since boot. */
  'stat-major-faults': number;
  'stat-minor-faults': number;
  /** Bytes. */
  'stat-free-memory': number;
  'stat-total-memory': number;
  /** MemAvailable; guests before Linux 4.6 do not report it. */
  'stat-available-memory': number;
  'stat-disk-caches': number;
  'stat-htlb-pgalloc': number;
  'stat-htlb-pgfail': number;
}

/** The value of the guest-stats property (read from a real QEMU 7.2). */
export interface GuestStatsReply {
  stats: Partial<GuestStatsValues>;
  /** Host wall-clock seconds of the last report; 0 when the guest never answered. */
  'last-update': number;
}

/** Starts (seconds > 0), retunes or stops (0) the polling of the guest's statistics. */
export async function setGuestStatsPolling(qmp: QmpClient, seconds: number, path = BALLOON_QOM_PATH): Promise<void> {
  if (!Number.isInteger(seconds) || seconds < 0) throw new RangeError(`guest stats polling interval must be whole seconds >= 0, got ${seconds}`);
  await qmp.execute('qom-set', { path, property: 'guest-stats-polling-interval', value: seconds });
}

export function queryGuestStatsReply(qmp: QmpClient, path = BALLOON_QOM_PATH): Promise<GuestStatsReply> {
  return qmp.execute<GuestStatsReply>('qom-get', { path, property: 'guest-stats' });
}

/** The guest's statistics in MiB, or null when it has not reported (yet) or not reported its free and total memory. */
export async function queryGuestStats(qmp: QmpClient, path = BALLOON_QOM_PATH): Promise<GuestMemoryStats | null> {
  return guestStatsFromReply(await queryGuestStatsReply(qmp, path));
}

/**
 * Converts a guest-stats reply. A guest that does not report available
 * memory gets its free memory in its place: less than it could free, so the
 * policy errs towards leaving it more.
 */
export function guestStatsFromReply(reply: GuestStatsReply): GuestMemoryStats | null {
  const s = reply.stats;
  const free = known(s['stat-free-memory']);
  const total = known(s['stat-total-memory']);
  if (!(reply['last-update'] > 0) || free === undefined || total === undefined) return null;
  const available = known(s['stat-available-memory']) ?? free;
  const majorFaults = known(s['stat-major-faults']);
  const swapIn = known(s['stat-swap-in']);
  return {
    freeMiB: free / MiB,
    availableMiB: available / MiB,
    totalMiB: total / MiB,
    ...(majorFaults !== undefined ? { majorFaults } : {}),
    ...(swapIn !== undefined ? { swapInMiB: swapIn / MiB } : {}),
    atMs: reply['last-update'] * 1000,
  };
}

/** The balloon's current size (the memory the guest has), in whole MiB. */
export async function queryBalloonMiB(qmp: QmpClient): Promise<number> {
  return Math.floor((await queryBalloon(qmp)).actual / MiB);
}

/** Asks the guest's balloon driver to bring the guest to `mib` MiB. */
export async function setBalloonMiB(qmp: QmpClient, mib: number): Promise<void> {
  if (!Number.isInteger(mib) || mib <= 0) throw new RangeError(`balloon target must be a whole number of MiB > 0, got ${mib}`);
  await setBalloon(qmp, mib * MiB);
}

/** Undefined for -1 and UINT64_MAX ("unknown"); no real byte count or counter reaches 2^53. */
function known(v: number | undefined): number | undefined {
  return typeof v === 'number' && Number.isSafeInteger(v) && v >= 0 ? v : undefined;
}
