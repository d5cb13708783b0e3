// What a host offers VMs, from its agent's inventory: its CPUs and memory and
// what the agent holds back for the host itself (--reserve-cpus,
// --reserve-memory). Every place that counts capacity reads it here: the
// pool's totals and each host's usage (pool.ts), the migration target check
// (placement.ts) and the planner snapshot (cluster-snapshot.ts) that
// placement, balancing, evacuation and HA admission plan on.
import type { HostInventory } from '../api/resources.js';

export interface HostCapacity {
  cpus: number;
  memoryMiB: number;
  /** Held back for the host itself; always below the total when there is one (0 for agents that report none). */
  reservedCpus: number;
  reservedMemoryMiB: number;
}

/** A reservation as reported, kept below the total (the planner requires it; the agent refuses more at start). */
function clamp(reserved: number | undefined, total: number): number {
  return Math.max(0, Math.min(reserved ?? 0, total - 1));
}

/** A host that has not reported an inventory has no capacity. */
export function hostCapacity(inventory: Pick<HostInventory, 'cpus' | 'memoryMiB' | 'reservedCpus' | 'reservedMemoryMiB'> | undefined): HostCapacity {
  const cpus = inventory?.cpus ?? 0;
  const memoryMiB = inventory?.memoryMiB ?? 0;
  return { cpus, memoryMiB, reservedCpus: clamp(inventory?.reservedCpus, cpus), reservedMemoryMiB: clamp(inventory?.reservedMemoryMiB, memoryMiB) };
}
