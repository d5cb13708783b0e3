// The host port: what the controller needs from a host, as a contract that a
// simulated host (sim-host.ts) implements today and an adapter over a real
// agent can implement later, so the same contract tests run against both
// (design principle 4). It mirrors the agent protocol of
// src/api/agent-protocol.ts, trimmed to what scheduling needs:
//
// - assign(): the controller's desired state for the host, the whole set at
//   once, as AssignmentsResponse.vms carries it (id, power, epoch, and the
//   migration role). A VM the host holds that is not in the set, or is
//   'absent' / 'released', is stopped and dropped.
// - report(): what the host observes, as HostReport.vms (id, observed state,
//   epoch, the migration's report state), or null while the host is silent
//   (failed, unreachable): the controller learns of failures from silence.
// - powerOn() / standby(): the power manager's levers (IPMI or wake-on-LAN,
//   and suspend in the real world).
//
// Migration follows the controller's choreography (src/controller/
// migration-assign.ts), with switchover and release merged into one step:
//   1. target: {power: running, migration: {role: target}}  → reports 'listening'
//   2. source: {power: running, migration: {role: source, targetUri}} → 'transferring', then 'completed'
//   3. target: {power: running} (no migration) → runs it; source: {power: released} → drops it.
//   Cancel: source {migration: {cancel: true}} or no migration → keeps running; target: released.
import type { VmAssignment, VmReport } from '../api/agent-protocol.js';
import type { MigrationAssignment, MigrationReport } from '../api/migration.js';
import type { HostInventory } from '../api/resources.js';

/** A host's power as the controller sees it. 'entering-standby' and 'booting' still draw power. */
export type HostPower = 'on' | 'booting' | 'entering-standby' | 'standby' | 'failed';

export type PortAssignment = Pick<VmAssignment, 'id' | 'power' | 'epoch'> & {
  /** spec.memoryMiB of the real assignment (what a migration must copy). */
  memoryMiB: number;
  migration?: Pick<MigrationAssignment, 'id' | 'role' | 'targetUri' | 'bandwidthBytes' | 'cancel'>;
};

export type PortVmReport = Pick<VmReport, 'id' | 'state' | 'epoch'> & {
  migration?: Pick<MigrationReport, 'id' | 'role' | 'state'> & { totalMs?: number };
};

export interface PortReport {
  power: HostPower;
  vms: PortVmReport[];
}

export interface HostPort {
  readonly id: string;
  inventory(): Pick<HostInventory, 'cpus' | 'memoryMiB'>;
  assign(assignments: PortAssignment[]): void;
  report(): PortReport | null;
  powerOn(): void;
  standby(): void;
}
