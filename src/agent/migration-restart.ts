// Pure: what an agent that restarted in the middle of a live migration does
// with it, from the state it recorded in vm.json before it went away and
// what QEMU (which kept running, and kept migrating) says now. The memory
// stream runs between the two QEMUs, so an agent restart does not stop it;
// the restarted agent takes it up again instead of losing track of it.
import type { MigrationReportState } from '../api/migration.js';
import type { MigrationStatus } from '../qemu/migration.js';

/** QEMU statuses of a migration that is still under way. */
const UNDER_WAY: readonly MigrationStatus[] = ['setup', 'active', 'pre-switchover', 'device', 'wait-unplug', 'cancelling', 'postcopy-active', 'postcopy-paused', 'postcopy-recover'];

/**
 * Source. `follow`: watch (and tune) the migration QEMU runs until it ends
 * (an ended one is read back at once: completed, failed or cancelled);
 * `start`: the agent went away before it started the transfer, so start it
 * now; `lost`: QEMU no longer knows of a transfer that ran; `keep`: the
 * recorded state is final, nothing to do.
 */
export type OutgoingRestart = 'follow' | 'start' | 'lost' | 'keep';

export function outgoingAfterRestart(recorded: MigrationReportState, qemu: MigrationStatus | undefined, guestRunning: boolean): OutgoingRestart {
  if (recorded === 'completed' || recorded === 'failed' || recorded === 'cancelled') return 'keep';
  if (qemu && UNDER_WAY.includes(qemu)) return 'follow';
  // A completed migration leaves the guest stopped; a running guest's "completed" is an earlier migration's (cancelled after the handover).
  if (qemu === 'completed' && !guestRunning) return 'follow';
  if (recorded === 'transferring' || recorded === 'postcopy') {
    // The transfer ran: a QEMU that no longer migrates ended it while we were away (read its end back).
    return qemu === 'completed' || qemu === 'failed' || qemu === 'cancelled' ? 'follow' : 'lost';
  }
  return 'start';
}

export interface IncomingRestart {
  /** The state to record now (unchanged when absent). */
  state?: MigrationReportState;
  error?: string;
  /** Postcopy began while the agent was away: the guest must run here (it can run nowhere else). */
  resumeGuest?: boolean;
}

/** Target: catch up with what the incoming QEMU did while the agent was away. */
export function incomingAfterRestart(recorded: MigrationReportState, qemu: MigrationStatus | undefined): IncomingRestart {
  if (recorded === 'switched-over' || recorded === 'failed' || recorded === 'cancelled') return {};
  if (recorded === 'preparing') return { state: 'failed', error: 'the target agent restarted before it listened for the migration' };
  if (qemu === 'failed' || qemu === 'cancelled') return { state: 'failed', error: 'the incoming migration failed while the target agent was away (the source went away or cancelled)' };
  if (recorded === 'postcopy') return qemu === 'completed' ? { state: 'switched-over' } : qemu === 'postcopy-active' ? { resumeGuest: true } : {};
  if (qemu === 'postcopy-active') return { state: 'postcopy', resumeGuest: true };
  if (qemu === 'postcopy-paused') return { state: 'postcopy' };
  if (qemu === 'completed') return { state: 'completed' };
  if (qemu === 'active' && recorded === 'listening') return { state: 'transferring' };
  return {};
}
