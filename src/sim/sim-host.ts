// A simulated host behind the host port (host-port.ts): it converges toward
// its assignments the way an agent does, but every operation takes its
// modelled time on the virtual clock instead of running QEMU: a VM start
// takes vmStartSeconds (after the host is up), a migration the time of
// migration-time.ts, a power-on bootSeconds, a standby standbySeconds.
// The engine calls advance(t) to let the host finish what is due by t.
import type { MigrationReportState } from '../api/migration.js';
import type { VmObservedState } from '../core/phase.js';
import type { VirtualClock } from './clock.js';
import type { HostPort, HostPower, PortAssignment, PortReport, PortVmReport } from './host-port.js';

export interface SimHostSpec {
  cpus: number;
  memoryMiB: number;
  bootSeconds: number;
  standbySeconds: number;
  migrationBandwidthMiBs: number;
}

export interface GuestModel {
  vmStartSeconds: number;
  /** Seconds a migration of this VM takes at this bandwidth (depends on its dirty rate now). */
  migrationSeconds(vmId: string, memoryMiB: number, bandwidthMiBs: number): number;
}

interface Guest {
  id: string;
  state: VmObservedState;
  epoch: number;
  /** When a 'starting' guest is up (Infinity: waits for the host to boot). */
  readyAtMs: number;
  migration?: { id: string; role: 'source' | 'target'; state: MigrationReportState; doneAtMs: number; startedAtMs: number; totalMs?: number };
}

export class SimulatedHost implements HostPort {
  private powerState: HostPower;
  private powerDoneAtMs = Infinity;
  private readonly guests = new Map<string, Guest>();
  private nextMs = Infinity;
  /** Told whenever the host's next event time may have changed (the engine keeps the set of busy hosts). */
  onSchedule?: (host: SimulatedHost, nextMs: number) => void;
  /** The last report, kept until something changes (reports are read far more often than hosts change). */
  private lastReport: PortReport | null | undefined;

  constructor(
    readonly id: string,
    private readonly spec: SimHostSpec,
    private readonly clock: VirtualClock,
    private readonly model: GuestModel,
    initial: 'on' | 'standby' = 'on',
  ) {
    this.powerState = initial;
  }

  inventory() {
    return { cpus: this.spec.cpus, memoryMiB: this.spec.memoryMiB };
  }

  power(): HostPower {
    return this.powerState;
  }

  /** The earliest time something is due (Infinity when idle). */
  nextEventMs(): number {
    return this.nextMs;
  }

  assign(assignments: PortAssignment[]): void {
    if (this.powerState === 'failed' || this.powerState === 'standby') return; // nobody listens
    const now = this.clock.nowMs();
    const wanted = new Set<string>();
    for (const a of assignments) {
      wanted.add(a.id);
      this.converge(a, now);
    }
    for (const id of [...this.guests.keys()]) if (!wanted.has(id)) this.guests.delete(id);
    this.reschedule();
  }

  report(): PortReport | null {
    if (this.lastReport === undefined) this.lastReport = this.buildReport();
    return this.lastReport;
  }

  private buildReport(): PortReport | null {
    if (this.powerState === 'failed') return null;
    const vms: PortVmReport[] = [];
    for (const g of this.guests.values()) {
      const r: PortVmReport = { id: g.id, state: g.state, epoch: g.epoch };
      if (g.migration) r.migration = { id: g.migration.id, role: g.migration.role, state: g.migration.state, ...(g.migration.totalMs !== undefined ? { totalMs: g.migration.totalMs } : {}) };
      vms.push(r);
    }
    return { power: this.powerState, vms };
  }

  powerOn(): void {
    if (this.powerState !== 'standby' && this.powerState !== 'entering-standby') return;
    this.powerState = 'booting';
    this.powerDoneAtMs = this.clock.nowMs() + this.spec.bootSeconds * 1000;
    this.reschedule();
  }

  standby(): void {
    if (this.powerState !== 'on' || this.guests.size > 0) throw new Error(`host ${this.id}: standby refused (power ${this.powerState}, ${this.guests.size} VMs)`);
    this.powerState = 'entering-standby';
    this.powerDoneAtMs = this.clock.nowMs() + this.spec.standbySeconds * 1000;
    this.reschedule();
  }

  /** A crash: every guest is gone, and the host is silent. */
  fail(): void {
    this.powerState = 'failed';
    this.guests.clear();
    this.powerDoneAtMs = Infinity;
    this.reschedule();
  }

  /** Back from a failure: boots, empty. */
  repair(): void {
    if (this.powerState !== 'failed') return;
    this.powerState = 'standby';
    this.powerOn();
  }

  /** Finishes everything due by `toMs`, in time order; returns whether anything changed. */
  advance(toMs: number): boolean {
    if (this.nextMs > toMs) return false;
    if (this.powerDoneAtMs <= toMs) this.finishPower();
    for (const g of this.guests.values()) {
      if (g.state === 'starting' && !g.migration && g.readyAtMs <= toMs) g.state = 'running';
      const m = g.migration;
      if (m?.state === 'transferring' && m.doneAtMs <= toMs) {
        m.state = 'completed';
        m.totalMs = m.doneAtMs - m.startedAtMs;
      }
    }
    this.reschedule();
    return true;
  }

  private finishPower(): void {
    const at = this.powerDoneAtMs;
    this.powerDoneAtMs = Infinity;
    if (this.powerState === 'entering-standby') {
      this.powerState = 'standby';
      return;
    }
    this.powerState = 'on';
    for (const g of this.guests.values()) {
      if (g.state === 'starting' && !g.migration) g.readyAtMs = at + this.model.vmStartSeconds * 1000;
      if (g.migration?.role === 'target' && g.migration.state === 'preparing') g.migration.state = 'listening';
    }
  }

  private converge(a: PortAssignment, now: number): void {
    const g = this.guests.get(a.id);
    if (a.power === 'absent' || a.power === 'released') {
      this.guests.delete(a.id);
      return;
    }
    if (a.power !== 'running') {
      if (g) g.state = a.power === 'paused' ? 'paused' : 'stopped';
      return;
    }
    const m = a.migration;
    if (m?.role === 'target') return this.incoming(a, g);
    if (m?.role === 'source' && g) return this.outgoing(a, g, now);
    if (!g) return this.start(a, now);
    if (g.migration?.role === 'target') {
      g.state = 'running'; // switchover: the memory is here, the guest resumes
      g.epoch = a.epoch;
    }
    delete g.migration;
  }

  private start(a: PortAssignment, now: number): void {
    const up = this.powerState === 'on';
    this.guests.set(a.id, { id: a.id, state: 'starting', epoch: a.epoch, readyAtMs: up ? now + this.model.vmStartSeconds * 1000 : Infinity });
  }

  private incoming(a: PortAssignment, g: Guest | undefined): void {
    if (g?.migration?.id === a.migration!.id) return;
    const state = this.powerState === 'on' ? 'listening' : 'preparing';
    this.guests.set(a.id, { id: a.id, state: 'starting', epoch: a.epoch, readyAtMs: Infinity, migration: { id: a.migration!.id, role: 'target', state, doneAtMs: Infinity, startedAtMs: this.clock.nowMs() } });
  }

  private outgoing(a: PortAssignment, g: Guest, now: number): void {
    const m = a.migration!;
    if (m.cancel) {
      delete g.migration;
      return;
    }
    if (g.migration?.id === m.id && (g.migration.state !== 'preparing' || !m.targetUri)) return;
    if (!m.targetUri || g.state !== 'running') {
      g.migration = { id: m.id, role: 'source', state: 'preparing', doneAtMs: Infinity, startedAtMs: now };
      return;
    }
    // Concurrent outgoing transfers share the NIC: the bandwidth is split at the start of each.
    let sending = 1;
    for (const x of this.guests.values()) if (x.migration?.role === 'source' && x.migration.state === 'transferring') sending++;
    let bw = this.spec.migrationBandwidthMiBs / sending;
    if (m.bandwidthBytes) bw = Math.min(bw, m.bandwidthBytes / 1048576);
    const ms = Math.max(1, Math.round(this.model.migrationSeconds(g.id, a.memoryMiB, bw) * 1000));
    g.migration = { id: m.id, role: 'source', state: 'transferring', doneAtMs: now + ms, startedAtMs: now };
  }

  private reschedule(): void {
    this.lastReport = undefined;
    let next = this.powerDoneAtMs;
    for (const g of this.guests.values()) {
      if (g.state === 'starting' && !g.migration && g.readyAtMs < next) next = g.readyAtMs;
      if (g.migration?.state === 'transferring' && g.migration.doneAtMs < next) next = g.migration.doneAtMs;
    }
    this.nextMs = next;
    this.onSchedule?.(this, next);
  }
}
