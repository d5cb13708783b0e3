// An agent's report: host inventory and state, images, volumes, and per VM
// the observed state mapped to a phase. Everything a report changes is
// written in one commit; per-report churn (stats, last seen) stays in memory.
import type { HostReport, VmReport } from '../api/agent-protocol.js';
import type { BalloonAck, BalloonDecisionsReport } from '../api/balloon.js';
import type { CommitOp } from '../store/store.js';
import type { Assignments } from './assignments.js';
import { BalloonEvents } from './balloon-events.js';
import { hostStateEvent, migrationProgressEvent, vmPhaseEvent, type EventDraft } from './events.js';
import { afterStaleReport, clearHostDown, staleOn } from './ha/vm-marks.js';
import { hostStateOnReport } from './host-liveness.js';
import { imageOpsForReport } from './images.js';
import type { LiveState } from './live-state.js';
import { KIND, nowIso, type HostRecord, type VmRecord, type VolumeRecord } from './records.js';
import { deleteOp, putOp, retryOnConflict, type ControllerState, type Versioned } from './state.js';
import { applyMigrationReport, liveOf } from './migration-reports.js';
import { applyVmReport, vmChanged } from './vm-observe.js';

export class Reports {
  private readonly balloon = new BalloonEvents();

  constructor(
    private readonly state: ControllerState,
    private readonly live: LiveState,
    private readonly assignments: Assignments,
  ) {}

  /** Takes the report; the answer acknowledges the balloon decisions it carried. */
  async accept(hostId: string, report: HostReport): Promise<BalloonAck | undefined> {
    const now = Date.now();
    this.live.lastSeen.set(hostId, now);
    this.live.lastSeenMono.set(hostId, performance.now());
    if (report.ha) this.live.haReports.set(hostId, report.ha);
    else this.live.haReports.delete(hostId);
    this.live.usedPorts.set(hostId, report.usedPorts ?? []);
    if (report.inventory?.forwardAddress) this.live.forwardAddresses.set(hostId, report.inventory.forwardAddress);
    this.live.recordStats(hostId, new Map(report.vms.flatMap((v) => (v.stats ? [[v.id, v.stats] as const] : []))), now);
    await retryOnConflict(() => this.commitReport(hostId, report));
    return report.balloon ? this.publishBalloon(hostId, report.balloon) : undefined;
  }

  /** The balloon decisions not published yet become events, after the report's own (docs/memory.md). */
  private async publishBalloon(hostId: string, decisions: BalloonDecisionsReport): Promise<BalloonAck> {
    const host = (await this.state.getHost(hostId))?.data.name ?? hostId;
    const vms = new Map((await this.state.listVms()).map((v) => [v.id, v.data.name]));
    const { events, ack } = this.balloon.take({ hostId, host, vm: (id) => vms.get(id) }, decisions);
    for (const e of events) this.state.events.publish(e);
    return ack;
  }

  private async commitReport(hostId: string, report: HostReport): Promise<void> {
    const host = await this.state.getHost(hostId);
    if (!host) return;
    const ops: CommitOp[] = [];
    const events: EventDraft[] = [];
    const all = await this.state.listVms();
    const vms = this.vmOps(hostId, all, report, events);
    const pending = vms.stale > 0 || (await this.failoverRunning(host.data));
    const nextHost: HostRecord = { ...host.data, inventory: report.inventory, state: hostStateOnReport(host.data.state, pending) };
    if (nextHost.state !== host.data.state) nextHost.lastSeenAt = nowIso();
    if (JSON.stringify(nextHost) !== JSON.stringify(host.data)) {
      ops.push(putOp(KIND.host, hostId, nextHost, host.rev));
      events.unshift(...hostStateEvent(host.data, nextHost));
    }
    ops.push(...imageOpsForReport(await this.state.listImages(), hostId, report.images));
    ops.push(...vms.ops);
    ops.push(...volumeOps(hostId, all.filter((v) => v.data.hostId === hostId), report.vms, await this.state.listVolumes()));
    if (ops.length) await this.state.commit(ops, events);
    else for (const e of events) this.state.events.publish(e); // progress only: nothing to store
  }

  /** A failed-over host whose failover job still runs: its HA VMs are not all placed yet. */
  private async failoverRunning(host: HostRecord): Promise<boolean> {
    if (!host.failoverJobId || (host.state !== 'Fenced' && host.state !== 'Recovering')) return false;
    return (await this.state.getJob(host.failoverJobId))?.data.state === 'running';
  }

  /**
   * The VMs of this host follow its report (phase, pid, ...); the VMs
   * migrating to or from it also their migration state; the VMs it may hold
   * an old copy of (HA failover) lose it once it is gone. One put per VM.
   * `stale`: how many of those old copies may remain.
   */
  private vmOps(hostId: string, vms: Versioned<VmRecord>[], report: HostReport, events: EventDraft[]): { ops: CommitOp[]; stale: number } {
    const reported = new Map(report.vms.map((r) => [r.id, r]));
    const ops: CommitOp[] = [];
    let stale = 0;
    for (const vm of vms) {
      const r = reported.get(vm.id);
      const served = this.assignments.absentServed(hostId, vm.id);
      let next = vm.data;
      const m = next.migration;
      if (m && (m.sourceHostId === hostId || m.targetHostId === hostId)) {
        const live = liveOf(r, m.id);
        if (live) {
          this.live.migrations.set(m.id, live);
          events.push(migrationProgressEvent(vm.data.name, m.id, live));
        }
        next = applyMigrationReport(next, hostId, r, served);
      }
      if (next.hostId === hostId) next = applyVmReport(clearHostDown(next), r, served);
      // Restarted elsewhere by HA failover: this host may hold an old QEMU of it until it confirms it gone.
      next = afterStaleReport(next, hostId, r !== undefined, served);
      if (staleOn(next, hostId)) stale++;
      if (!vmChanged(vm.data, next)) continue;
      next = { ...next, updatedAt: nowIso() };
      ops.push(putOp(KIND.vm, vm.id, next, vm.rev));
      events.push(...vmPhaseEvent(vm.data, next));
    }
    return { ops, stale };
  }
}

/** Volume records follow what the agent reports for the VMs the controller knows. */
function volumeOps(hostId: string, vms: Versioned<VmRecord>[], reports: VmReport[], existing: Versioned<VolumeRecord>[]): CommitOp[] {
  const known = new Map(vms.map((v) => [v.id, v.data]));
  const current = new Map(existing.filter((v) => v.data.hostId === hostId).map((v) => [v.id, v]));
  const ops: CommitOp[] = [];
  const seen = new Set<string>();
  for (const r of reports) {
    const vm = known.get(r.id);
    if (!vm) continue;
    for (const v of r.volumes) {
      seen.add(v.id);
      const ref = vm.spec.volumes.find((s) => s.id === v.id);
      const record: VolumeRecord = {
        id: v.id, vmId: vm.id, hostId, pool: vm.spec.storage ?? 'local', role: ref?.role ?? 'data', path: v.path, format: 'qcow2',
        virtualSizeBytes: v.virtualSizeBytes, actualSizeBytes: v.actualSizeBytes, backingImage: ref?.backingImage,
      };
      const before = current.get(v.id);
      if (!before || JSON.stringify(before.data) !== JSON.stringify(record)) ops.push(putOp(KIND.volume, v.id, record, before?.rev));
    }
  }
  for (const id of current.keys()) if (!seen.has(id)) ops.push(deleteOp(KIND.volume, id));
  return ops;
}
