// Placement of a new VM by the planner (src/core/planner): a snapshot of the
// candidate hosts (Ready, holding the image, with the VM's storage and
// network) and the VMs that hold resources on them, the goal `place`, and
// the planner's answer: a host, or why each host class cannot take it.
import { plan, type ClusterSnapshot, type Unplaced } from '../core/planner/index.js';
import { holdsMemory } from './placement.js';
import type { HostRecord, VmRecord } from './records.js';

export interface NewVm {
  cpus: number;
  memoryMiB: number;
}

const NEW_VM_ID = '(new VM)';

/** The snapshot the planner sees: candidate hosts, their resource-holding VMs, and the new VM unplaced. */
export function placementSnapshot(candidates: readonly HostRecord[], vms: readonly VmRecord[], vm: NewVm): ClusterSnapshot {
  const ids = new Set(candidates.map((h) => h.id));
  return {
    hosts: candidates.map((h) => ({ id: h.id, name: h.name, cpus: h.inventory?.cpus ?? 0, memoryMiB: h.inventory?.memoryMiB ?? 0, state: 'ready' as const })),
    vms: [
      ...vms.filter((v) => v.hostId !== null && ids.has(v.hostId) && holdsMemory(v)).map((v) => ({ id: v.id, name: v.name, cpus: v.spec.cpus, memoryMiB: v.spec.memoryMiB, host: v.hostId })),
      { id: NEW_VM_ID, cpus: vm.cpus, memoryMiB: vm.memoryMiB, host: null },
    ],
    // HA admission belongs to the HA work; memory overcommit stays off, vCPUs may be overcommitted.
    policy: { failures: 0, placement: 'spread' },
  };
}

/** The host the planner places the new VM on, or the reasons it cannot, per host class. */
export function planPlacement(candidates: readonly HostRecord[], vms: readonly VmRecord[], vm: NewVm): { host: HostRecord } | { why: string } {
  const p = plan(placementSnapshot(candidates, vms, vm), 'place');
  const placed = p.actions.find((a) => a.action.kind === 'place' && a.action.vm === NEW_VM_ID);
  const host = placed?.action.kind === 'place' ? candidates.find((h) => h.id === (placed.action as { host: string }).host) : undefined;
  if (host) return { host };
  return { why: describeUnplaced(p.unplaced.find((u) => u.vm === NEW_VM_ID), candidates) };
}

function describeUnplaced(u: Unplaced | undefined, hosts: readonly HostRecord[]): string {
  if (!u || u.reasons.length === 0) return 'the planner found no host for it';
  const name = (id: string) => hosts.find((h) => h.id === id)?.name ?? id;
  return u.reasons.map((r) => `${r.hosts.map(name).join(', ')}${r.hosts.length < ((r as { hostCount?: number }).hostCount ?? 0) ? ', ...' : ''}: ${r.detail}`).join('; ');
}
