// The pool's capacity: what each host has allocated to its VMs, and the sum
// over the hosts that can take VMs. Pure: the caller passes a snapshot of
// hosts and VMs; nothing here reads a clock or a store.
import type { VmPhase } from './phase.js';

/** Only hosts in this state take new VMs; the pool's totals count them alone. */
export const SCHEDULABLE_HOST_STATE = 'Ready';

export interface CapacityHost {
  id: string;
  /** The host's state name (Ready, Unreachable, Maintenance, ...). */
  state: string;
  cpus: number;
  memoryMiB: number;
  /** Held back for the host itself (when its inventory says so): never given to VMs. */
  reservedCpus?: number;
  reservedMemoryMiB?: number;
}

export interface CapacityVm {
  hostId: string | null;
  phase: VmPhase;
  cpus: number;
  memoryMiB: number;
}

export interface HostUsage {
  /** vCPUs and memory allocated to the host's VMs that use resources. */
  cpus: number;
  memoryMiB: number;
  /** Every VM placed on the host, whatever its phase (a host with VMs cannot simply be removed). */
  vms: number;
  /** Those of them that use resources. */
  activeVms: number;
}

export interface ResourceAmount {
  total: number;
  reserved: number;
  /** Allocated to VMs; vCPUs may exceed the host's CPUs (overcommit), then free is 0. */
  used: number;
  free: number;
}

export interface PoolCapacity {
  hosts: { total: number; schedulable: number; byState: Record<string, number> };
  cpus: ResourceAmount;
  memoryMiB: ResourceAmount;
  vms: { total: number; active: number; activeOutsidePool: number };
}

/** Bad input: `field` names it, e.g. "hosts[1].memoryMiB". */
export class CapacityInputError extends Error {
  constructor(
    readonly field: string,
    message: string,
  ) {
    super(`${field}: ${message}`);
    this.name = 'CapacityInputError';
  }
}

/**
 * Whether a VM in this phase holds its vCPUs and memory: while its QEMU runs
 * or may run (Starting, Running, Paused, Stopping), and while it is created
 * but not yet started (Pending: placement promised it the room). Stopped and
 * Failed VMs hold nothing, nor does one being deleted. Placement counts
 * memory the same way.
 */
export function usesResources(phase: VmPhase): boolean {
  return phase === 'Pending' || phase === 'Starting' || phase === 'Running' || phase === 'Paused' || phase === 'Stopping';
}

function checkCount(value: number | undefined, field: string, positive = false): void {
  if (value === undefined) return;
  const min = positive ? 1 : 0;
  if (!Number.isSafeInteger(value) || value < min) throw new CapacityInputError(field, `must be an integer >= ${min}, got ${String(value)}`);
}

/** Throws CapacityInputError naming the first bad field. */
export function checkCapacityInput(hosts: readonly CapacityHost[], vms: readonly CapacityVm[]): void {
  const ids = new Set<string>();
  hosts.forEach((h, i) => {
    if (!h.id) throw new CapacityInputError(`hosts[${i}].id`, 'must not be empty');
    if (ids.has(h.id)) throw new CapacityInputError(`hosts[${i}].id`, `host id ${h.id} is given twice`);
    ids.add(h.id);
    if (!h.state) throw new CapacityInputError(`hosts[${i}].state`, 'must not be empty');
    checkCount(h.cpus, `hosts[${i}].cpus`);
    checkCount(h.memoryMiB, `hosts[${i}].memoryMiB`);
    checkCount(h.reservedCpus, `hosts[${i}].reservedCpus`);
    checkCount(h.reservedMemoryMiB, `hosts[${i}].reservedMemoryMiB`);
    if ((h.reservedCpus ?? 0) > h.cpus) throw new CapacityInputError(`hosts[${i}].reservedCpus`, `${h.reservedCpus} is more than the host's ${h.cpus} CPUs`);
    if ((h.reservedMemoryMiB ?? 0) > h.memoryMiB) throw new CapacityInputError(`hosts[${i}].reservedMemoryMiB`, `${h.reservedMemoryMiB} MiB is more than the host's ${h.memoryMiB} MiB`);
  });
  vms.forEach((v, i) => {
    checkCount(v.cpus, `vms[${i}].cpus`, true);
    checkCount(v.memoryMiB, `vms[${i}].memoryMiB`, true);
  });
}

/** Per host id: what its VMs hold. Every host given gets an entry; VMs on unknown hosts are ignored. */
export function hostUsage(hosts: readonly CapacityHost[], vms: readonly CapacityVm[]): Map<string, HostUsage> {
  checkCapacityInput(hosts, vms);
  const usage = new Map<string, HostUsage>(hosts.map((h) => [h.id, { cpus: 0, memoryMiB: 0, vms: 0, activeVms: 0 }]));
  for (const vm of vms) {
    const u = vm.hostId === null ? undefined : usage.get(vm.hostId);
    if (!u) continue;
    u.vms++;
    if (!usesResources(vm.phase)) continue;
    u.activeVms++;
    u.cpus += vm.cpus;
    u.memoryMiB += vm.memoryMiB;
  }
  return usage;
}

function amount(total: number, reserved: number, used: number): ResourceAmount {
  return { total, reserved, used, free: Math.max(0, total - reserved - used) };
}

/**
 * Per-host usage and the pool summary. The totals, reservations, usage and
 * free room count only schedulable (Ready) hosts; `hosts.byState` counts every
 * host by state, starting from zero for each of `states`.
 */
export function poolCapacity(hosts: readonly CapacityHost[], vms: readonly CapacityVm[], states: readonly string[] = []): { pool: PoolCapacity; hosts: Map<string, HostUsage> } {
  const usage = hostUsage(hosts, vms);
  const byState: Record<string, number> = Object.fromEntries(states.map((s) => [s, 0]));
  const sum = { cpus: 0, memoryMiB: 0, reservedCpus: 0, reservedMemoryMiB: 0, usedCpus: 0, usedMemoryMiB: 0, active: 0 };
  for (const h of hosts) {
    byState[h.state] = (byState[h.state] ?? 0) + 1;
    if (h.state !== SCHEDULABLE_HOST_STATE) continue;
    const u = usage.get(h.id)!;
    sum.cpus += h.cpus;
    sum.memoryMiB += h.memoryMiB;
    sum.reservedCpus += h.reservedCpus ?? 0;
    sum.reservedMemoryMiB += h.reservedMemoryMiB ?? 0;
    sum.usedCpus += u.cpus;
    sum.usedMemoryMiB += u.memoryMiB;
    sum.active += u.activeVms;
  }
  const active = vms.filter((v) => usesResources(v.phase)).length;
  const pool: PoolCapacity = {
    hosts: { total: hosts.length, schedulable: byState[SCHEDULABLE_HOST_STATE] ?? 0, byState },
    cpus: amount(sum.cpus, sum.reservedCpus, sum.usedCpus),
    memoryMiB: amount(sum.memoryMiB, sum.reservedMemoryMiB, sum.usedMemoryMiB),
    vms: { total: vms.length, active, activeOutsidePool: active - sum.active },
  };
  return { pool, hosts: usage };
}
