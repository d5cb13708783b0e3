// The controller's side of the host port in the simulator: it hands hosts
// their assignments, reads their reports and reacts (a VM is up, a
// migration's target listens, a migration completed), declares silent hosts
// failed, and powers down hosts ordered to standby once they are empty.
import type { PortAssignment } from '../host-port.js';
import { Executions } from './executions.js';
import type { Recorder } from './recorder.js';
import type { Timeline } from './timeline.js';
import type { HostRec, VmRec, World } from './world.js';

export class Controller {
  private readonly dirty = new Set<HostRec>();
  readonly executions = new Executions(this);

  constructor(
    readonly world: World,
    readonly rec: Recorder,
    readonly timeline: Timeline,
  ) {}

  /** Sets (or with power 'absent', clears) what `host` is told about `vm`; sent on flush(). */
  tell(host: HostRec, vm: VmRec, a: Omit<PortAssignment, 'id' | 'memoryMiB'> | null): void {
    if (a === null) host.desired.delete(vm.id);
    else host.desired.set(vm.id, { id: vm.id, memoryMiB: vm.spec.memoryMiB, ...a });
    this.dirty.add(host);
  }

  touch(host: HostRec): void {
    this.dirty.add(host);
  }

  /** Sends changed assignments and reacts to the reports, until nothing changes. */
  flush(): void {
    while (this.dirty.size > 0) {
      const batch = [...this.dirty].sort((a, b) => a.index - b.index);
      this.dirty.clear();
      for (const h of batch) {
        if (!h.failed) h.port.assign([...h.desired.values()]);
        this.reconcile(h);
      }
    }
  }

  /** Reads one host's report and acts on it. */
  reconcile(host: HostRec): void {
    const report = host.port.report();
    if (report === null) return; // silent: the failure timer declares it (timeline.ts)
    const seen = new Set<string>();
    for (const r of report.vms) {
      seen.add(r.id);
      const vm = this.world.vmById.get(r.id);
      if (!vm) continue;
      const m = vm.migration;
      if (!m && vm.host === host.id && r.state === 'running' && !r.migration && !vm.running) this.up(vm);
      if (m && r.migration?.id === m.id && r.migration.role === 'target' && r.migration.state === 'listening' && m.stage === 'prepare') this.transfer(vm);
      if (m && r.migration?.id === m.id && r.migration.role === 'source' && r.migration.state === 'completed') this.switchover(vm, r.migration.totalMs ?? 0);
    }
    for (const [id, a] of host.desired) {
      if ((a.power === 'released' || a.power === 'absent') && !seen.has(id)) host.desired.delete(id);
    }
    if (host.standbyPending && host.vms.size === 0 && host.leaving.size === 0 && report.vms.length === 0 && report.power === 'on') {
      host.standbyPending = false;
      host.port.standby();
    }
  }

  private up(vm: VmRec): void {
    vm.running = true;
    this.rec.vmUp(vm, this.world.clock.nowMs());
  }

  private transfer(vm: VmRec): void {
    const m = vm.migration!;
    m.stage = 'transfer';
    const from = this.world.hostById.get(m.from)!;
    this.tell(from, vm, { power: 'running', epoch: vm.epoch, migration: { id: m.id, role: 'source', targetUri: `sim:${m.to}` } });
  }

  private switchover(vm: VmRec, totalMs: number): void {
    const m = vm.migration!;
    const from = this.world.hostById.get(m.from)!;
    const to = this.world.hostById.get(m.to)!;
    from.leaving.delete(vm);
    vm.host = m.to;
    delete vm.migration;
    vm.epoch++;
    this.tell(to, vm, { power: 'running', epoch: vm.epoch });
    this.tell(from, vm, { power: 'released', epoch: vm.epoch - 1 });
    this.rec.migrationDone(vm, m, totalMs);
    this.executions.migrationEnded(m.id);
  }

  /** The host stayed silent: its VMs are lost (HA ones wait for a restart), migrations to it are cancelled. */
  declareFailed(host: HostRec, failedAtMs: number): void {
    host.failed = true;
    host.standbyPending = false;
    host.desired.clear();
    for (const vm of host.vms) {
      if (vm.migration) this.cancelMigration(vm);
      else this.lose(vm, host.id, failedAtMs);
    }
    for (const vm of host.leaving) {
      const m = vm.migration!;
      const to = this.world.hostById.get(m.to)!;
      to.vms.delete(vm);
      this.tell(to, vm, null);
      delete vm.migration;
      this.lose(vm, host.id, failedAtMs);
      this.executions.migrationEnded(m.id);
    }
    const lost = this.world.vms.filter((v) => v.lost?.host === host.id);
    host.vms.clear();
    host.leaving.clear();
    this.rec.note(`host ${host.id} declared failed: ${lost.length} VM(s) lost, ${lost.filter((v) => v.spec.ha).length} of them HA`);
  }

  /** Keeps the VM on its source (the target failed). */
  cancelMigration(vm: VmRec): void {
    const m = vm.migration!;
    const from = this.world.hostById.get(m.from)!;
    const to = this.world.hostById.get(m.to)!;
    delete vm.migration;
    from.leaving.delete(vm);
    from.vms.add(vm);
    to.vms.delete(vm);
    if (!to.failed) this.tell(to, vm, { power: 'released', epoch: vm.epoch + 1 });
    this.tell(from, vm, { power: 'running', epoch: vm.epoch });
    this.rec.migrationCancelled();
    this.executions.migrationEnded(m.id);
  }

  private lose(vm: VmRec, hostId: string, atMs: number): void {
    vm.running = false;
    vm.host = null;
    vm.lost = { host: hostId, atMs };
    this.rec.vmLost(vm);
  }

  /** A repaired host: back on, empty; VMs still lost on it need placing again. */
  repair(host: HostRec): void {
    host.port.repair();
    host.failed = false;
    host.plan = 'ready';
    for (const vm of this.world.vms) if (vm.lost?.host === host.id) delete vm.lost;
    this.rec.note(`host ${host.id} repaired`);
  }

  /** The VM's time is over (its group's stop): it leaves its host. */
  retire(vm: VmRec): void {
    if (vm.migration) this.cancelMigration(vm);
    const host = vm.host ? this.world.hostById.get(vm.host) : undefined;
    if (host) {
      host.vms.delete(vm);
      this.tell(host, vm, { power: 'absent', epoch: vm.epoch });
    }
    vm.wanted = false;
    vm.host = null;
    vm.running = false;
    delete vm.lost;
  }
}
