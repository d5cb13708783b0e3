// The VMs of this host: one supervisor per VM dir or assignment. Assignments
// from the controller are handed to their supervisors, which converge
// concurrently; reports gather what every supervisor observes.
import fs from 'node:fs';
import type { VmAssignment, VmReport } from '../api/agent-protocol.js';
import type { AgentContext } from './agent-context.js';
import type { BalloonVm } from './balloon-loop.js';
import { VmSupervisor } from './converge.js';
import type { FenceTarget } from './fencer/protocol.js';
import { reattachAll } from './reattach.js';
import { loadVmFile, newVmFile, vmDir } from './state-files.js';

export class Agent {
  private readonly vms = new Map<string, VmSupervisor>();
  private readonly warnedUnassigned = new Set<string>();

  constructor(readonly ctx: AgentContext) {}

  /** Finds the VMs of an earlier run, re-attaching to the QEMUs that still run. */
  async reattach(): Promise<void> {
    for (const sup of await reattachAll(this.ctx)) this.vms.set(sup.id, sup);
  }

  vm(id: string): VmSupervisor | undefined {
    return this.vms.get(id);
  }

  /** Converges every VM of the assignments. VMs the controller does not list are left as they are. */
  apply(assignments: readonly VmAssignment[]): void {
    for (const a of assignments) {
      const sup = this.vms.get(a.id) ?? this.adopt(a);
      sup?.converge(a);
    }
    this.warnUnassigned(new Set(assignments.map((a) => a.id)));
  }

  /** Forgets a VM its supervisor deleted. */
  removed(id: string): void {
    this.vms.delete(id);
  }

  async vmReports(): Promise<VmReport[]> {
    return Promise.all([...this.vms.values()].map((s) => s.report()));
  }

  usedPorts(): number[] {
    return [...new Set([...this.vms.values()].flatMap((s) => s.forwardedPorts))].sort((a, b) => a - b);
  }

  /** The QEMUs of HA VMs, for the fencer (fence-targets.json). */
  fenceTargets(): FenceTarget[] {
    return [...this.vms.values()].flatMap((s) => s.fenceTarget ?? []).sort((a, b) => a.vmId.localeCompare(b.vmId));
  }

  /** The lease is fresh again: HA VMs refused before start now. */
  retryRefusedStarts(): void {
    for (const sup of this.vms.values()) sup.retryRefusedStart();
  }

  /** Running VMs the balloon loop may resize. */
  balloonVms(): BalloonVm[] {
    return [...this.vms.values()].flatMap((s) => s.balloonVm ?? []);
  }

  /** Lets go of every QEMU without stopping it. */
  detachAll(): void {
    for (const sup of this.vms.values()) sup.detach();
  }

  private adopt(a: VmAssignment): VmSupervisor | undefined {
    // Nothing of a VM to delete is here: nothing to do.
    if (a.power === 'absent' && !fs.existsSync(vmDir(this.ctx.paths, a.id))) return undefined;
    const sup = new VmSupervisor(this.ctx, loadVmFile(this.ctx.paths, a.id) ?? newVmFile(a));
    this.vms.set(a.id, sup);
    return sup;
  }

  private warnUnassigned(assigned: Set<string>): void {
    for (const [id, sup] of this.vms) {
      if (assigned.has(id)) continue;
      // The target of a migration that was given up holds nothing of value: the guest never ran here.
      if (sup.isUnfinishedMigrationTarget) {
        this.ctx.log.info({ vm: id }, 'removing the target of a migration the controller no longer lists');
        sup.converge({ ...sup.assignment, power: 'released' });
        continue;
      }
      if (this.warnedUnassigned.has(id)) continue;
      this.warnedUnassigned.add(id);
      this.ctx.log.warn({ vm: id }, `VM ${id} has a dir on this host but no assignment from the controller; leaving it as it is`);
    }
  }
}
