// Pure: what each host is told about a VM, including while it migrates. The
// stage recorded in the VM's migration state decides both sides at once:
//
//   stage           source host (VM's hostId until switchover)   target host
//   queued          runs it as usual                              -
//   prepare         runs it (knows a migration is coming)         start QEMU -incoming, listen, report the URI
//   transfer        send to the target URI                        receive
//   switchover      hold the handed-over guest (never resume)     run the guest
//   release-source  released: kill QEMU, drop local volumes       runs it as usual (hostId = target)
//   abort           cancel, keep or get the guest running         released
//
// A host the VM is stale on (HA failover restarted it elsewhere, records.ts
// `staleOn`) is told 'released' until it confirms the VM gone.
import type { VmAssignment } from '../api/agent-protocol.js';
import type { MigrationAssignment } from '../api/migration.js';
import type { VmMigrationState, VmRecord } from './records.js';
import { staleOn } from './ha/vm-marks.js';
import { toAssignment } from './vm-observe.js';

/** The assignments of one host: its own VMs and the VMs migrating to or from it. */
export function assignmentsFor(hostId: string, vms: readonly VmRecord[]): VmAssignment[] {
  const out: VmAssignment[] = [];
  for (const vm of vms) {
    const a = assignmentOf(hostId, vm);
    if (a) out.push(a);
  }
  return out;
}

export function assignmentOf(hostId: string, vm: VmRecord): VmAssignment | undefined {
  const m = vm.migration;
  if (staleOn(vm, hostId) && m?.sourceHostId !== hostId && m?.targetHostId !== hostId) return { ...toAssignment(vm), power: 'released' };
  if (!m || m.stage === 'queued') return vm.hostId === hostId ? toAssignment(vm) : undefined;
  if (hostId === m.sourceHostId) return sourceAssignment(vm, m);
  if (hostId === m.targetHostId) return targetAssignment(vm, m);
  return undefined;
}

function sourceAssignment(vm: VmRecord, m: VmMigrationState): VmAssignment {
  const base = { ...toAssignment(vm), epoch: m.sourceEpoch };
  if (m.stage === 'release-source') return { ...base, power: 'released' };
  const migration: MigrationAssignment = { id: m.id, role: 'source', storage: m.storage };
  if (m.stage === 'transfer' || m.stage === 'switchover' || m.stage === 'abort') {
    Object.assign(migration, {
      targetUri: m.targetUri, strategy: m.strategy, maxDowntimeMs: m.maxDowntimeMs, allowPostcopy: m.allowPostcopy,
      ...(m.nbd ? { nbd: m.nbd } : {}),
      ...(m.bandwidthBytes ? { bandwidthBytes: m.bandwidthBytes } : {}),
    });
  }
  if (m.stage === 'abort') migration.cancel = true;
  return { ...base, power: base.power === 'absent' ? 'absent' : 'running', migration };
}

function targetAssignment(vm: VmRecord, m: VmMigrationState): VmAssignment {
  const base = { ...toAssignment(vm), epoch: m.targetEpoch };
  if (m.stage === 'abort') return { ...base, power: 'released' };
  if (m.stage === 'release-source') return base;
  const migration: MigrationAssignment = {
    id: m.id, role: 'target', storage: m.storage, listenHost: m.listenHost, strategy: m.strategy, allowPostcopy: m.allowPostcopy,
    ...(m.stage === 'switchover' ? { switchover: true, ...(m.guestReadyAt ? { guestReadyAt: m.guestReadyAt } : {}) } : {}),
  };
  return { ...base, power: 'running', migration };
}
