// The controller's view of the simulated cluster (what it has decided and
// what it has observed), and building it from a scenario: host and VM
// records, one simulated host per host, one demand trace per VM.
import type { ForecastPoint, HostPlanState, SnapshotGroup, SnapshotHost, SnapshotVm } from '../../core/planner/snapshot.js';
import { VirtualClock } from '../clock.js';
import type { PortAssignment } from '../host-port.js';
import { migrationEstimate } from '../migration-time.js';
import type { LoadedScenario } from '../scenario/load.js';
import type { HostGroupSpec, Scenario, VmGroupSpec } from '../scenario/types.js';
import { SimulatedHost } from '../sim-host.js';
import { traceFor } from './traces.js';
import type { DemandTrace } from '../traces/types.js';

export interface HostRec {
  id: string;
  index: number;
  spec: HostGroupSpec;
  port: SimulatedHost;
  /** The controller's intent for the host (what the planner sees). */
  plan: HostPlanState;
  /** Declared failed (after failureDetectSeconds of silence) until repaired. */
  failed: boolean;
  /** Standby was ordered; the host powers down once it holds no VM. */
  standbyPending: boolean;
  /** What the host is told to run (its assignments). */
  desired: Map<string, PortAssignment>;
  /** VMs placed here: running or starting here and not leaving, or arriving by migration. */
  vms: Set<VmRec>;
  /** VMs migrating away from here. */
  leaving: Set<VmRec>;
  /** Its entry in planner snapshots, kept and updated in place (snapshot.ts). */
  snap?: SnapshotHost;
}

export interface VmMigration {
  id: string;
  from: string;
  to: string;
  cause: string;
  startedAtMs: number;
  stage: 'prepare' | 'transfer';
}

export interface VmRec {
  id: string;
  index: number;
  spec: VmGroupSpec;
  trace: DemandTrace;
  /** Expanded affinity/anti-affinity group ids. */
  groups: string[];
  /** The VM exists now (between its start and stop). */
  wanted: boolean;
  /** Where it runs or starts (the source while it migrates); null: not placed. */
  host: string | null;
  running: boolean;
  migration?: VmMigration;
  /** Its host failed under it: when, and which host. */
  lost?: { host: string; atMs: number };
  lastMovedAtMs?: number;
  epoch: number;
  /** Demand now: fractions of its allocation (load events applied). */
  cpuFrac: number;
  memFrac: number;
  loadFactor: number;
  /** Its entry in planner snapshots, kept and updated in place (snapshot.ts). */
  snap?: SnapshotVm;
}

export interface World {
  scenario: Scenario;
  seed: number;
  clock: VirtualClock;
  hosts: HostRec[];
  hostById: Map<string, HostRec>;
  vms: VmRec[];
  vmById: Map<string, VmRec>;
  groups: SnapshotGroup[];
  /** The members of each of `groups`, in the same order. */
  groupMembers: VmRec[][];
  nextMigrationId: number;
  /** Bumped whenever anything may have changed (events, demand, applied plans): snapshots are reused while it holds. */
  version: number;
  /** Hosts with something due (a finite next event time). */
  busy: Set<HostRec>;
  /** Forecast demand handed to the planner now (policies.power.forecast). */
  forecast?: ForecastPoint[];
}

export function buildWorld(loaded: LoadedScenario, seed: number, startMs = 0): World {
  const scenario = loaded.scenario;
  const clock = new VirtualClock(startMs);
  const vms = buildVms(loaded, seed);
  const vmById = new Map(vms.map((v) => [v.id, v]));
  const model = {
    vmStartSeconds: scenario.timing.vmStartSeconds,
    migrationSeconds: (vmId: string, memoryMiB: number, bandwidthMiBs: number) => {
      const vm = vmById.get(vmId);
      const dirtyMiBs = vm ? vm.spec.dirtyMiBs * vm.cpuFrac : 0;
      return migrationEstimate({ memoryMiB, dirtyMiBs, bandwidthMiBs, setupSeconds: scenario.timing.migrationSetupSeconds }).seconds;
    },
  };
  const hosts: HostRec[] = [];
  for (const spec of scenario.hosts) {
    for (let i = 0; i < spec.count; i++) {
      const id = `${spec.name}-${i}`;
      const standby = i >= spec.count - spec.standby;
      const port = new SimulatedHost(id, spec, clock, model, standby ? 'standby' : 'on');
      hosts.push({ id, index: hosts.length, spec, port, plan: standby ? 'standby' : 'ready', failed: false, standbyPending: false, desired: new Map(), vms: new Set(), leaving: new Set() });
    }
  }
  const groups = expandGroups(scenario, vms);
  const busy = new Set<HostRec>();
  for (const h of hosts) {
    h.port.onSchedule = (_port, next) => {
      if (next === Infinity) busy.delete(h);
      else busy.add(h);
    };
  }
  const groupMembers = groups.map((g) => g.vms.map((id) => vmById.get(id)!));
  return { scenario, seed, clock, hosts, hostById: new Map(hosts.map((h) => [h.id, h])), vms, vmById, groups, groupMembers, nextMigrationId: 1, version: 0, busy };
}

function buildVms(loaded: LoadedScenario, seed: number): VmRec[] {
  const vms: VmRec[] = [];
  for (const spec of loaded.scenario.vms) {
    for (let i = 0; i < spec.count; i++) {
      const id = `${spec.name}-${i}`;
      vms.push({
        id, index: vms.length, spec, trace: traceFor(spec.trace, loaded.traces, seed, id, i), groups: [],
        wanted: false, host: null, running: false, epoch: 0, cpuFrac: 0, memFrac: 0, loadFactor: 1,
      });
    }
  }
  return vms;
}

/** Members in scenario order; a group with `size` is cut into groups of that many (`${id}-${k}`). */
function expandGroups(scenario: Scenario, vms: VmRec[]): SnapshotGroup[] {
  const out: SnapshotGroup[] = [];
  for (const g of scenario.groups) {
    const members = vms.filter((v) => v.spec.groups.includes(g.id));
    const size = g.size ?? Math.max(1, members.length);
    for (let k = 0; k * size < members.length; k++) {
      const chunk = members.slice(k * size, (k + 1) * size);
      const id = g.size ? `${g.id}-${k}` : g.id;
      for (const v of chunk) v.groups.push(id);
      out.push({ id, kind: g.kind, strength: g.strength, vms: chunk.map((v) => v.id) });
    }
  }
  return out;
}

/** Where the VM counts now: the migration's target while it migrates, else its host. */
export function placeOf(vm: VmRec): string | null {
  return vm.migration ? vm.migration.to : vm.host;
}
