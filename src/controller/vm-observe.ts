// Pure: how one agent report changes a VM record. The phase follows the core
// phase machine; the rest copies what the agent observed.
import type { VmAssignment, VmReport } from '../api/agent-protocol.js';
import { observedTransition, type VmPhase } from '../core/phase.js';
import type { VmRecord } from './records.js';

/** What the VM's host agent is told to do with it. */
export function assignedPower(vm: VmRecord): VmAssignment['power'] {
  return vm.removing || vm.phase === 'Deleting' ? 'absent' : vm.intent;
}

/**
 * The spec an agent needs. `ha` goes along when set (its fencer guards the HA
 * VMs' QEMUs, docs/ha.md); priority and host rules are the controller's
 * alone, so changing them wakes no agent.
 */
function agentSpec(spec: VmRecord['spec']): VmAssignment['spec'] {
  const { ha, haPriority: _p, hostRules: _r, ...rest } = spec;
  return ha === true ? { ...rest, ha: true } : rest;
}

export function toAssignment(vm: VmRecord): VmAssignment {
  return { id: vm.id, name: vm.name, spec: agentSpec(vm.spec), power: assignedPower(vm), epoch: vm.epoch, rebootSeq: vm.rebootSeq, forceStop: vm.forceStop };
}

/**
 * The VM after a report of its host. `r` is undefined when the agent did not
 * list the VM. `absentServed`: the agent was handed the 'absent' assignment
 * before this report, so a VM it no longer lists is really gone.
 */
export function applyVmReport(vm: VmRecord, r: VmReport | undefined, absentServed: boolean): VmRecord {
  if (assignedPower(vm) === 'absent') return applyToRemoved(vm, r, absentServed);
  if (!r) {
    // Not listed: nothing of the VM runs. Epoch 0 = "no QEMU seen", so a start in flight holds its phase.
    const phase = observedTransition(vm.phase, { state: 'absent', epoch: 0 }, vm.intent, vm.epoch);
    return { ...vm, phase, pid: undefined };
  }
  const phase = observedTransition(vm.phase, { state: r.state, epoch: r.epoch }, vm.intent, vm.epoch);
  // A guest that powered itself off: its QEMU of the current epoch stopped while we wanted it running.
  const poweredOff = r.state === 'stopped' && vm.intent === 'running' && vm.epoch > 0 && r.epoch === vm.epoch;
  return {
    ...vm,
    phase,
    intent: poweredOff ? 'stopped' : vm.intent,
    reason: reasonFor(vm, phase, r),
    pid: r.pid,
    guestReadyAt: r.guestReadyAt,
    qmpReadyAt: r.qmpReadyAt,
    qemuStartMs: r.qemuStartMs,
    observed: { state: r.state, epoch: r.epoch, rebootSeq: r.rebootSeq, ...(r.size ? { size: r.size } : {}), ...(r.devices ? { devices: r.devices } : {}), ...(r.limits ? { limits: r.limits } : {}) },
    agentError: r.error,
  };
}

function applyToRemoved(vm: VmRecord, r: VmReport | undefined, absentServed: boolean): VmRecord {
  const nothingLeft = !r || (r.state === 'absent' && r.volumes.length === 0);
  const observed = r ? { state: r.state, epoch: r.epoch, rebootSeq: r.rebootSeq } : vm.observed;
  return { ...vm, pid: r?.pid, observed, gone: vm.gone === true || (absentServed && nothingLeft), agentError: r?.error };
}

function reasonFor(vm: VmRecord, phase: VmPhase, r: VmReport): string | undefined {
  if (phase === 'Failed') return r.reason ?? vm.reason ?? 'QEMU exited without a clean shutdown';
  if (phase === 'Stopped') return r.reason ?? (phase === vm.phase ? vm.reason : undefined);
  if (phase === 'Starting' || phase === 'Running' || phase === 'Paused') return undefined;
  return vm.reason;
}

/** Whether a report changed anything worth writing down. */
export function vmChanged(before: VmRecord, after: VmRecord): boolean {
  return JSON.stringify(before) !== JSON.stringify(after);
}
