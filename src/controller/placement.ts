// Pure placement rules of VM create: free memory per host (after what the
// host holds back for itself), the host with the most of it, and port
// clashes with the other VMs of a host.
import type { PortForward } from '../api/resources.js';
import { isActive } from '../core/phase.js';
import { hostCapacity } from './host-capacity.js';
import type { HostRecord, VmRecord } from './records.js';

/** A VM holds memory while it runs or may start (created, not yet started). */
export function holdsMemory(vm: VmRecord): boolean {
  return isActive(vm.phase) || vm.phase === 'Pending';
}

/** The host's memory minus its reservation minus what its VMs hold (may be negative). */
export function freeMemoryMiB(host: HostRecord, vms: readonly VmRecord[]): number {
  const used = vms.filter((v) => v.hostId === host.id && holdsMemory(v)).reduce((sum, v) => sum + v.spec.memoryMiB, 0);
  const { memoryMiB, reservedMemoryMiB } = hostCapacity(host.inventory);
  return memoryMiB - reservedMemoryMiB - used;
}

/** The candidate with the most free memory (the simplest spreading rule). */
export function mostFreeMemory(hosts: readonly HostRecord[], vms: readonly VmRecord[]): { host: HostRecord; freeMiB: number } | undefined {
  let best: { host: HostRecord; freeMiB: number } | undefined;
  for (const host of hosts) {
    const freeMiB = freeMemoryMiB(host, vms);
    if (!best || freeMiB > best.freeMiB) best = { host, freeMiB };
  }
  return best;
}

export interface PortClash {
  index: number;
  message: string;
}

/** The first requested port that repeats an earlier one or that another VM of the host forwards. */
export function findPortClash(ports: readonly PortForward[], hostId: string, vms: readonly VmRecord[], agentUsed: readonly number[]): PortClash | undefined {
  const key = (p: PortForward) => `${p.proto}/${p.hostPort}`;
  const taken = new Map<string, string>();
  for (const vm of vms) {
    if (vm.hostId !== hostId) continue;
    for (const p of vm.spec.ports) taken.set(key(p), vm.name);
  }
  const used = new Set(agentUsed);
  for (const [index, p] of ports.entries()) {
    const owner = taken.get(key(p));
    if (owner) return { index, message: `host port ${p.hostPort}/${p.proto} is already forwarded to VM ${owner}` };
    if (used.has(p.hostPort)) return { index, message: `host port ${p.hostPort} is already forwarded by a VM on the host` };
    const earlier = ports.findIndex((q, i) => i < index && key(q) === key(p));
    if (earlier >= 0) return { index, message: `host port ${p.hostPort}/${p.proto} is given twice (ports[${earlier}] and ports[${index}])` };
  }
  return undefined;
}
