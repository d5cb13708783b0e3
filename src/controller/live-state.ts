// Observations that change every report and need not survive a restart:
// kept in memory so a report of unchanged state writes nothing to disk.
import type { VmStats } from '../api/resources.js';
import type { MigrationLive } from './migration-reports.js';

export class LiveState {
  /** Host id → when its last report arrived (ms since the epoch). */
  readonly lastSeen = new Map<string, number>();
  /** Host id → host ports its agent says its VMs forward. */
  readonly usedPorts = new Map<string, number[]>();
  /** Host id → where its VMs' port forwards without an address listen (from its inventory). */
  readonly forwardAddresses = new Map<string, string>();
  /** Host id → (VM id → the latest process stats), replaced by every report of the host. */
  readonly stats = new Map<string, Map<string, VmStats>>();
  /** Migration id → what its source last reported (progress, escalation path, result). */
  readonly migrations = new Map<string, MigrationLive>();

  vmStats(hostId: string | null, vmId: string): VmStats | undefined {
    return hostId === null ? undefined : this.stats.get(hostId)?.get(vmId);
  }
}
