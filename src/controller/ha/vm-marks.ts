// Pure: what HA failover writes on VM records, and how the reports of the
// VMs' hosts undo it. A VM restarted elsewhere lists its old host in
// `staleOn` until that host's report shows the VM gone; a VM left on a dead
// host says so in its reason ("host-down: ...") until its host reports again.
import type { VmRecord } from '../records.js';

export const HOST_DOWN = 'host-down:';

export function hostDownReason(text: string): string {
  return `${HOST_DOWN} ${text}`;
}

/** The VM without a host-down reason (its host reports again: the phase speaks for itself). */
export function clearHostDown(vm: VmRecord): VmRecord {
  if (!vm.reason?.startsWith(HOST_DOWN)) return vm;
  const { reason: _r, ...rest } = vm;
  return rest;
}

/** Whether `hostId` may still hold an old QEMU of the VM (it runs elsewhere now). */
export function staleOn(vm: VmRecord, hostId: string): boolean {
  return vm.hostId !== hostId && (vm.staleOn?.includes(hostId) ?? false);
}

/**
 * The VM after a report of a host it is stale on: gone from it once the host
 * was handed the 'released' assignment and its report no longer lists it.
 */
export function afterStaleReport(vm: VmRecord, hostId: string, listed: boolean, releasedServed: boolean): VmRecord {
  if (!staleOn(vm, hostId) || listed || !releasedServed) return vm;
  const rest = (vm.staleOn ?? []).filter((h) => h !== hostId);
  const { staleOn: _s, ...without } = vm;
  return rest.length > 0 ? { ...without, staleOn: rest } : without;
}
