// One step's measurements of the cluster: hosts by power state, CPU and
// memory utilization of the hosts that are on, what should run but does not,
// CPU shortfall, and the must/should constraint violations.
import type { Violations } from '../report/types.js';
import type { HostRec, VmRec, World } from './world.js';

export interface StepSample {
  activeHosts: number;
  bootingHosts: number;
  standbyHosts: number;
  failedHosts: number;
  demandCores: number;
  /** CPU utilization of each host that is on. */
  cpuUtils: number[];
  memUtils: number[];
  unplacedVms: number;
  unplacedCores: number;
  unplacedMiB: number;
  cpuShortfallCores: number;
  overloadedHosts: number;
  violations: Violations<number>;
}

interface HostLoad {
  cpu: Float64Array;
  memUse: Float64Array;
  allocCpu: Float64Array;
  allocMem: Float64Array;
  memInFlight: Float64Array;
  haMem: Float64Array;
}

export function sampleStep(w: World): StepSample {
  const n = w.hosts.length;
  const load: HostLoad = { cpu: new Float64Array(n), memUse: new Float64Array(n), allocCpu: new Float64Array(n), allocMem: new Float64Array(n), memInFlight: new Float64Array(n), haMem: new Float64Array(n) };
  const s: StepSample = {
    activeHosts: 0, bootingHosts: 0, standbyHosts: 0, failedHosts: 0, demandCores: 0, cpuUtils: [], memUtils: [],
    unplacedVms: 0, unplacedCores: 0, unplacedMiB: 0, cpuShortfallCores: 0, overloadedHosts: 0,
    violations: { must: 0, memory: 0, cpu: 0, antiAffinity: 0, affinity: 0, hostRules: 0, haAdmission: 0, should: 0, memoryInFlight: 0 },
  };
  for (const vm of w.vms) if (vm.wanted) addVm(w, vm, load, s);
  for (const h of w.hosts) addHost(w, h, load, s);
  groupViolations(w, s.violations);
  s.violations.haAdmission = haAdmission(w, load) ? 0 : 1;
  const v = s.violations;
  v.must = v.memory + v.cpu + v.antiAffinity + v.affinity + v.hostRules + v.haAdmission;
  return s;
}

function addVm(w: World, vm: VmRec, load: HostLoad, s: StepSample): void {
  const cores = vm.cpuFrac * vm.spec.cpus;
  const mem = vm.memFrac * vm.spec.memoryMiB;
  s.demandCores += cores;
  const host = vm.host !== null ? w.hostById.get(vm.host)! : undefined;
  if (!vm.running || !host) {
    s.unplacedVms++;
    s.unplacedCores += cores;
    s.unplacedMiB += mem;
  } else {
    load.cpu[host.index]! += cores;
    load.memUse[host.index]! += mem;
    for (const r of vm.spec.hostRules) {
      if (matches(host, r.labels)) continue;
      if (r.strength === 'must') s.violations.hostRules++;
      else s.violations.should++;
    }
  }
  // Allocation counts where the planner placed it (a migrating VM at its target); the source
  // holds its memory too until the migration ends (memInFlight).
  const placed = vm.migration ? w.hostById.get(vm.migration.to)! : host;
  if (!placed) return;
  load.allocCpu[placed.index]! += vm.spec.cpus;
  load.allocMem[placed.index]! += vm.spec.memoryMiB;
  load.memInFlight[placed.index]! += vm.spec.memoryMiB;
  if (vm.migration && host) load.memInFlight[host.index]! += vm.spec.memoryMiB;
  if (vm.spec.ha) load.haMem[placed.index]! += vm.spec.memoryMiB;
}

function addHost(w: World, h: HostRec, load: HostLoad, s: StepSample): void {
  const power = h.port.power();
  if (power === 'failed') s.failedHosts++;
  else if (power === 'standby') s.standbyHosts++;
  else s.activeHosts++;
  if (power === 'booting') s.bootingHosts++;
  if (power !== 'on') return;
  const cpus = h.spec.cpus - h.spec.reservedCpus;
  const mem = h.spec.memoryMiB - h.spec.reservedMemoryMiB;
  const i = h.index;
  s.cpuUtils.push(load.cpu[i]! / cpus);
  s.memUtils.push(load.memUse[i]! / mem);
  if (load.cpu[i]! > cpus) {
    s.overloadedHosts++;
    s.cpuShortfallCores += load.cpu[i]! - cpus;
  }
  const oc = w.scenario.policies.planner.overcommit;
  if (load.allocMem[i]! > mem * (oc?.memory ?? 1) + 1e-9) s.violations.memory++;
  if (load.memInFlight[i]! > mem * (oc?.memory ?? 1) + 1e-9) s.violations.memoryInFlight++;
  if (load.allocCpu[i]! > cpus * (oc?.cpu ?? 4) + 1e-9) s.violations.cpu++;
}

function matches(h: HostRec, labels: Record<string, string>): boolean {
  for (const k in labels) if (h.spec.labels[k] !== labels[k]) return false;
  return true;
}

/** Group rules over where members run now. */
function groupViolations(w: World, v: Violations<number>): void {
  const hosts: string[] = [];
  w.groups.forEach((g, i) => {
    hosts.length = 0;
    for (const vm of w.groupMembers[i]!) if (vm.running && vm.host) hosts.push(vm.host);
    const distinct = distinctCount(hosts);
    // Anti-affinity: n-1 per host shared by n members; affinity: hosts beyond the first.
    const broken = g.kind === 'anti-affinity' ? hosts.length - distinct : Math.max(0, distinct - 1);
    if (g.strength === 'should') v.should += broken;
    else if (g.kind === 'anti-affinity') v.antiAffinity += broken;
    else v.affinity += broken;
  });
}

function distinctCount(xs: string[]): number {
  if (xs.length > 8) return new Set(xs).size;
  let n = 0;
  for (let i = 0; i < xs.length; i++) if (xs.indexOf(xs[i]!) === i) n++;
  return n;
}

/**
 * HA admission, pooled by memory (an approximation that ignores how the free
 * memory is fragmented): the HA VMs of the F ready hosts holding the most HA
 * memory must fit in the free memory of the other ready hosts.
 */
function haAdmission(w: World, load: HostLoad): boolean {
  const f = w.scenario.policies.planner.failures ?? 1;
  if (f === 0) return true;
  const oc = w.scenario.policies.planner.overcommit?.memory ?? 1;
  const ready = w.hosts.filter((h) => !h.failed && h.plan === 'ready');
  const byHa = [...ready].sort((a, b) => load.haMem[b.index]! - load.haMem[a.index]!);
  const failing = byHa.slice(0, f);
  const need = failing.reduce((x, h) => x + load.haMem[h.index]!, 0);
  if (need === 0) return true;
  const free = byHa.slice(f).reduce((x, h) => x + Math.max(0, (h.spec.memoryMiB - h.spec.reservedMemoryMiB) * oc - load.allocMem[h.index]!), 0);
  return need <= free;
}
