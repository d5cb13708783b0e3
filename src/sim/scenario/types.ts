// A validated scenario: what `drover sim run` simulates. The YAML format is
// documented in docs/simulator.md; validate.ts turns YAML into this.
import type { PlannerPolicy } from '../../core/planner/snapshot.js';
import type { BurstyParams, DiurnalParams, StepParams } from '../traces/synthetic.js';
import type { ReplayParams } from '../traces/replay.js';

export interface HostGroupSpec {
  /** Hosts are named `${name}-${i}`, i from 0. */
  name: string;
  count: number;
  cpus: number;
  memoryMiB: number;
  labels: Record<string, string>;
  reservedCpus: number;
  reservedMemoryMiB: number;
  /** Seconds from power-on to ready, and from the standby order to off. */
  bootSeconds: number;
  standbySeconds: number;
  /** How many of the group's hosts start in standby (the last ones). */
  standby: number;
  maxMigrations?: number;
  /** Migration bandwidth of the host's NIC, MiB/s, shared by its concurrent migrations. */
  migrationBandwidthMiBs: number;
}

export type TraceSpec =
  | ({ kind: 'diurnal' } & DiurnalParams)
  | ({ kind: 'bursty' } & BurstyParams)
  | ({ kind: 'step' } & StepParams)
  | ({ kind: 'csv'; format: 'azure' | 'bitbrains'; path: string } & ReplayParams);

export interface HostRule {
  labels: Record<string, string>;
  strength: 'must' | 'should';
}

export interface VmGroupSpec {
  /** VMs are named `${name}-${i}`, i from 0. */
  name: string;
  count: number;
  cpus: number;
  memoryMiB: number;
  /** Affinity/anti-affinity group ids (of `groups`). */
  groups: string[];
  ha: boolean;
  priority: number;
  /** Dirty rate at full CPU, MiB/s (scales with the CPU fraction). */
  dirtyMiBs: number;
  hostRules: HostRule[];
  trace: TraceSpec;
  /** The VMs exist from startMs (they need placing then) until stopMs. */
  startMs: number;
  stopMs?: number;
}

export interface GroupSpec {
  id: string;
  kind: 'affinity' | 'anti-affinity';
  strength: 'must' | 'should';
  /** Split the members, in order, into groups of this many (`${id}-${k}`); absent: one group. */
  size?: number;
}

export interface PolicySpec {
  /** Handed to the planner as the snapshot's policy. */
  planner: PlannerPolicy;
  /** Balancer: automation level (also in planner.balance) and how often it runs. */
  balance: { automation: 'off' | 'recommend' | 'automatic'; intervalMs: number };
  /** Power management: consolidate (standby idle hosts, power on for demand) every intervalMs; the forecast it gets. */
  power: { enabled: boolean; intervalMs: number; forecast: 'none' | 'oracle' };
}

export interface TimingSpec {
  vmStartSeconds: number;
  migrationSetupSeconds: number;
  /** Silence after which the controller declares a host failed (then HA restarts its VMs). */
  failureDetectSeconds: number;
}

export type EventSpec =
  | { atMs: number; kind: 'host-failure'; hosts: string[] }
  | { atMs: number; kind: 'host-repair'; hosts: string[] }
  | { atMs: number; kind: 'maintenance'; hosts: string[]; untilMs?: number }
  | { atMs: number; kind: 'load'; vms: string; factor: number; untilMs?: number };

export interface Scenario {
  name: string;
  description: string;
  seed: number;
  durationMs: number;
  stepMs: number;
  hosts: HostGroupSpec[];
  vms: VmGroupSpec[];
  groups: GroupSpec[];
  policies: PolicySpec;
  timing: TimingSpec;
  events: EventSpec[];
}
