// Observations that change every report and need not survive a restart:
// kept in memory so a report of unchanged state writes nothing to disk.
import type { HostHaReport } from '../api/agent-protocol.js';
import type { VmStats } from '../api/resources.js';
import type { MigrationLive } from './migration-reports.js';

export class LiveState {
  /** Host id → when its last report arrived (ms since the epoch). */
  readonly lastSeen = new Map<string, number>();
  /** Host id → when its last report arrived on this process's monotonic clock (performance.now): HA failover judges silence by it. */
  readonly lastSeenMono = new Map<string, number>();
  /** Host id → its fencer's state from its last report (docs/ha.md); absent: the agent said nothing of it. */
  readonly haReports = new Map<string, HostHaReport>();
  /** Host id → host ports its agent says its VMs forward. */
  readonly usedPorts = new Map<string, number[]>();
  /** Host id → where its VMs' port forwards without an address listen (from its inventory). */
  readonly forwardAddresses = new Map<string, string>();
  /** Host id → (VM id → the latest process stats), replaced by every report of the host. */
  readonly stats = new Map<string, Map<string, VmStats>>();
  /** Migration id → what its source last reported (progress, escalation path, result). */
  readonly migrations = new Map<string, MigrationLive>();

  /** Host id → (VM id → cores busy, from the CPU time between its last two reports). */
  readonly cpuRates = new Map<string, Map<string, number>>();
  private readonly statsAt = new Map<string, number>();

  vmStats(hostId: string | null, vmId: string): VmStats | undefined {
    return hostId === null ? undefined : this.stats.get(hostId)?.get(vmId);
  }

  vmCpuRate(hostId: string | null, vmId: string): number | undefined {
    return hostId === null ? undefined : this.cpuRates.get(hostId)?.get(vmId);
  }

  /** Replaces a host's VM stats with those of a report made at `atMs`, and derives each VM's CPU use since the last one. */
  recordStats(hostId: string, next: Map<string, VmStats>, atMs: number): void {
    const prev = this.stats.get(hostId);
    const prevAt = this.statsAt.get(hostId);
    const rates = new Map<string, number>();
    const seconds = prevAt === undefined ? 0 : (atMs - prevAt) / 1000;
    for (const [id, s] of next) {
      const before = prev?.get(id);
      // A new QEMU (restart, migration) starts its CPU time from 0: no rate until the next report.
      if (before && seconds > 0 && s.cpuSeconds >= before.cpuSeconds) rates.set(id, (s.cpuSeconds - before.cpuSeconds) / seconds);
    }
    this.stats.set(hostId, next);
    this.statsAt.set(hostId, atMs);
    this.cpuRates.set(hostId, rates);
  }
}
