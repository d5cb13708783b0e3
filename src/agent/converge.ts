// One VM under the agent's care: it takes the VM's newest assignment,
// decides (decide.ts) and carries the actions out, one pass at a time, and
// reports what it observes. Different VMs converge concurrently.
import fs from 'node:fs';
import path from 'node:path';
import type { Logger } from 'pino';
import type { AgentContext } from './agent-context.js';
import type { VmAssignment, VmReport } from '../api/agent-protocol.js';
import { decide, exitReason, exitState, observedState, type Action, type VmFacts } from './decide.js';
import { VmSerial } from './serial-console.js';
import { saveVmFile, vmDir, vmFilePath, type VmFile } from './state-files.js';
import { VmRuntime, type QemuExit } from './vm-runtime.js';
import type { BalloonVm } from './balloon-loop.js';
import { VmMigration } from './vm-migration.js';
import { VmSizer } from './vm-size.js';
import { VmDevices } from './vm-devices.js';
import { diskIdsOf } from './qemu-spec.js';
import { VmLimiter } from './vm-limits.js';
import { cpuModel } from '../qemu/args.js';
import { createMissingVolumes, missingVolumes, VolumeReporter } from './volumes.js';
import { deleteVmFiles, noteGoneWhileAway, startVmQemu } from './vm-lifecycle.js';
import type { FenceTarget } from './fencer/protocol.js';
import { procStartTicks } from './fencer/targets.js';

export class VmSupervisor {
  readonly serial: VmSerial;
  private runtime: VmRuntime | null = null;
  private starting = false;
  private wanted: VmAssignment | null = null;
  private busy = false;
  private removing = false;
  private removed = false;
  private recheck: NodeJS.Timeout | null = null;
  private volumeError: string | undefined;
  /** Why its start was refused (an HA VM while the lease is not fresh); it starts once asked again. */
  private haRefusal: string | undefined;
  /** The start time of the current QEMU's pid (/proc/PID/stat), read when it was adopted: the fencer kills only that process. */
  private qemuStartTicks: number | null = null;
  private readonly volumes = new VolumeReporter();
  private readonly log: Logger;
  private readonly migration: VmMigration;
  private readonly sizer: VmSizer;
  private readonly devices: VmDevices;
  private readonly limits: VmLimiter;

  constructor(
    private readonly ctx: AgentContext,
    private readonly file: VmFile,
  ) {
    this.log = ctx.log.child({ vm: file.id, name: file.assignment.name });
    this.serial = new VmSerial(path.join(this.dir, 'serial.log'), () => this.onGuestReady());
    this.migration = new VmMigration({
      file, log: this.log, save: () => this.save(), changed: () => ctx.changed(),
      diskIds: () => diskIdsOf(this.file.assignment),
    });
    this.sizer = new VmSizer(this.log, cpuModel(ctx.caps), ctx.caps.kvm);
    this.devices = new VmDevices(ctx, file.id, this.log, () => this.converge(this.wanted ?? this.file.assignment));
    this.limits = new VmLimiter(file.id, ctx.cgroups ?? { layout: null, reason: 'the agent detected no cgroups' }, this.log);
  }

  get id(): string {
    return this.file.id;
  }

  get dir(): string {
    return vmDir(this.ctx.paths, this.file.id);
  }

  get assignment(): VmAssignment {
    return this.file.assignment;
  }

  /** A migration target whose guest never ran here (nothing to lose if it goes). */
  get isUnfinishedMigrationTarget(): boolean {
    const m = this.file.migration;
    return m?.role === 'target' && m.state !== 'switched-over';
  }

  /** The VM for the host's balloon loop: running, not migrating, not being stopped; else undefined. */
  get balloonVm(): BalloonVm | undefined {
    const rt = this.runtime;
    const a = this.file.assignment;
    if (!rt || rt.paused || rt.hasExited || a.power !== 'running' || a.migration || this.file.migration) return undefined;
    if (this.migration.migratedOut || this.migration.outgoingActive || this.file.stopRequestedAt !== undefined) return undefined;
    return { id: this.id, configuredMiB: a.spec.memoryMiB, qmp: rt.qmp, ...(a.memoryShares !== undefined ? { memoryShares: a.memoryShares } : {}) };
  }

  /** Host ports this VM's running QEMU forwards. */
  get forwardedPorts(): number[] {
    return this.runtime ? this.file.assignment.spec.ports.map((p) => p.hostPort) : [];
  }

  /** Takes the newest assignment; passes run one at a time, the latest assignment wins. */
  converge(a: VmAssignment): void {
    this.wanted = a;
    if (!this.busy) void this.drain();
  }

  /** A QEMU found running after an agent restart. */
  adopt(runtime: VmRuntime): void {
    this.runtime = runtime;
    this.qemuStartTicks = procStartTicks(runtime.pid);
    runtime.on('exit', (exit: QemuExit) => this.onExit(runtime, exit));
    runtime.on('change', () => this.ctx.changed());
    runtime.on('reset', () => this.onReset());
    runtime.on('warning', (message: string) => this.log.warn(message));
    this.serial.connect(this.dir, runtime.pid);
  }

  /** After an agent restart with its QEMU still running: pick up a migration that was under way. */
  async reattachMigration(): Promise<void> {
    if (this.runtime) await this.migration.reattach(this.runtime, this.file.assignment.migration);
  }

  /** After an agent restart no QEMU was found: record how the last one ended. */
  noteGoneWhileAway(): void {
    if (noteGoneWhileAway(this.file, this.dir)) this.save();
  }

  /** After an agent restart a QEMU runs but cannot be controlled: say so, touch nothing. */
  noteUnreachable(reason: string): void {
    this.file.lastExit = { state: 'crashed', reason };
  }

  async report(): Promise<VmReport> {
    const rt = this.runtime;
    const a = this.file.assignment;
    const stats = rt ? await rt.stats().catch(() => undefined) : undefined;
    const error = this.currentError(a);
    return {
      id: this.id,
      state: observedState(this.facts(a)),
      epoch: this.file.lastStartedEpoch,
      rebootSeq: this.file.rebootSeqDone,
      volumes: await this.volumes.report(this.ctx.paths, a).catch(() => []),
      ...(rt ? { pid: rt.pid, qmpReadyAt: this.file.qmpReadyAt, qemuStartMs: this.file.qemuStartMs, guestReadyAt: this.file.guestReadyAt, stats } : {}),
      ...(!rt && !this.starting && this.file.lastExit?.reason ? { reason: this.file.lastExit.reason } : {}),
      ...(error ? { error } : {}),
      ...(this.migration.report() ? { migration: this.migration.report() } : {}),
      ...(rt && !rt.hasExited ? await this.sizer.report(rt.qmp).then((size) => (size ? { size } : {})) : {}),
      ...(rt && !rt.hasExited ? await this.devices.report(rt.qmp).then((devices) => (devices ? { devices } : {})) : {}),
      ...(await this.limits.report(rt, stats)),
    };
  }

  /** For the fencer (HA VMs only): its run dir, and the pid and start time of its QEMU when one runs. */
  get fenceTarget(): FenceTarget | undefined {
    if (this.file.assignment.spec.ha !== true || this.removed) return undefined;
    const rt = this.runtime;
    return { vmId: this.id, runDir: this.dir, ...(rt && this.qemuStartTicks !== null ? { pid: rt.pid, startTimeTicks: this.qemuStartTicks } : {}) };
  }

  /** A start refused for HA may go ahead now: converge again. */
  retryRefusedStart(): void {
    if (this.haRefusal) this.converge(this.wanted ?? this.file.assignment);
  }

  /** Lets go of QEMU and the serial link without stopping the VM (agent shutdown). */
  detach(): void {
    this.clearRecheck();
    this.sizer.stopWatch();
    this.devices.stop();
    this.serial.disconnect();
    this.runtime?.detach();
  }

  private async drain(): Promise<void> {
    this.busy = true;
    try {
      while (this.wanted && !this.removed) {
        const a = this.wanted;
        this.wanted = null;
        await this.convergeOnce(a);
      }
    } finally {
      this.busy = false;
    }
  }

  private async convergeOnce(a: VmAssignment): Promise<void> {
    const known = fs.existsSync(vmFilePath(this.ctx.paths, this.id));
    if (a.power !== 'absent' && (!known || JSON.stringify(a) !== JSON.stringify(this.file.assignment))) {
      this.file.assignment = a;
      this.save();
    }
    if (a.power === 'running' || a.power === 'paused') this.migration.clearIfDone(a.migration);
    const decision = decide(a, this.facts(a), { now: Date.now(), stopGraceMs: this.ctx.stopGraceMs });
    for (const action of decision.actions) {
      try {
        await this.execute(action, a);
      } catch (err) {
        this.log.error({ err, action: action.kind }, `${action.kind} failed: ${(err as Error).message}`);
        break;
      }
    }
    await this.reconcileSize(a);
    await this.reconcileDevices(a);
    // Right after a start too: memory QEMU is charged for before it joins its cgroup stays outside the cap.
    await this.limits.reconcile(this.runtime, a, { qmp: !(a.migration || this.file.migration || this.migration.migratedOut || this.migration.outgoingActive) });
    this.scheduleRecheck(decision.recheckAt);
    this.ctx.changed();
  }

  /** Brings the plugged vCPUs and memory to the assignment's (not while it migrates: both ends must keep one layout). */
  private async reconcileSize(a: VmAssignment): Promise<void> {
    const rt = this.runtime;
    if (!rt || rt.hasExited || this.starting || (a.power !== 'running' && a.power !== 'paused')) return;
    if (a.migration || this.file.migration || this.migration.migratedOut || this.migration.outgoingActive) return;
    const live = await this.sizer.reconcile(rt.qmp, a).catch((err: unknown) => this.log.warn({ err }, 'cannot read the plugged vCPUs and memory'));
    if (live && (live.cpus !== a.spec.cpus || live.memoryMiB !== a.spec.memoryMiB)) {
      this.sizer.watch(a.spec, { qmp: () => (this.runtime && !this.runtime.hasExited && !this.removed ? this.runtime.qmp : null), wanted: () => this.file.assignment.spec, changed: () => this.ctx.changed() });
    }
  }

  /** Plugs and unplugs disks and NICs to the assignment's (not while it migrates or starts: both ends must keep one layout). */
  private async reconcileDevices(a: VmAssignment): Promise<void> {
    if (this.starting || a.migration || this.file.migration || this.migration.migratedOut || this.migration.outgoingActive) return;
    const qmp = this.runtime && !this.runtime.hasExited ? this.runtime.qmp : null;
    await this.devices.reconcile(qmp, a).catch((err: unknown) => this.log.warn({ err }, 'cannot reconcile the disks and NICs'));
  }

  private facts(a: VmAssignment): VmFacts {
    const f = this.file;
    return {
      qemu: this.runtime ? (this.runtime.paused ? 'paused' : 'running') : 'none',
      starting: this.starting,
      lastStartedEpoch: f.lastStartedEpoch,
      rebootSeqDone: f.rebootSeqDone,
      volumesMissing: a.power !== 'absent' && missingVolumes(this.ctx.paths, a).length > 0,
      ...(f.stopRequestedAt !== undefined ? { stopRequestedAt: f.stopRequestedAt } : {}),
      ...(f.lastExit ? { lastExit: f.lastExit } : {}),
      migratedOut: this.migration.migratedOut,
      outgoing: this.migration.outgoingId,
      outgoingActive: this.migration.outgoingActive,
      incomingState: this.migration.incomingState,
    };
  }

  private async execute(action: Action, a: VmAssignment): Promise<void> {
    this.log.info({ action }, `${action.kind}`);
    switch (action.kind) {
      case 'create-volumes':
        return this.createVolumes(a);
      case 'start':
        this.haRefusal = this.ctx.haGate?.refuseStart(a);
        if (this.haRefusal) throw new Error(this.haRefusal);
        if (action.incoming && a.migration) this.migration.beginIncoming(a.migration);
        await this.start(a, action.incoming === true);
        if (action.incoming && a.migration) return this.migration.startIncoming(a.migration, this.qemu());
        if (action.paused) await this.qemu().pause();
        return;
      case 'migrate-out':
        if (a.migration) this.migration.startOutgoing(a.migration, this.qemu());
        return;
      case 'migrate-cancel':
        return this.migration.cancelOutgoing(this.runtime);
      case 'switchover':
        await this.migration.switchover(this.runtime);
        // The guest booted on the source: its readiness carries over (its marker will not be printed again).
        if (a.migration?.guestReadyAt && !this.file.guestReadyAt) {
          this.file.guestReadyAt = a.migration.guestReadyAt;
          this.save();
        }
        return;
      case 'release':
        return this.remove(false);
      case 'pause':
        return this.qemu().pause();
      case 'resume':
        return this.qemu().resume();
      case 'reset':
        await this.qemu().reset();
        this.file.rebootSeqDone = action.rebootSeq;
        delete this.file.guestReadyAt;
        return this.save();
      case 'powerdown':
        this.file.stopRequestedAt = Date.now();
        this.save();
        return this.qemu().powerdown();
      case 'kill':
        this.file.stopRequestedAt ??= Date.now();
        this.save();
        return this.qemu().kill();
      case 'remove':
        return this.remove(true);
    }
  }

  private qemu(): VmRuntime {
    if (!this.runtime) throw new Error('no QEMU runs for this VM');
    return this.runtime;
  }

  private async createVolumes(a: VmAssignment): Promise<void> {
    try {
      await createMissingVolumes(this.ctx.paths, this.ctx.imagesDir, a, this.volumes);
      this.volumeError = undefined;
    } catch (err) {
      this.volumeError = `cannot create the volumes: ${(err as Error).message}`;
      throw err;
    }
  }

  /** Records the epoch on disk before spawning: at most one QEMU per epoch, even across agent crashes. */
  private async start(a: VmAssignment, incoming: boolean): Promise<void> {
    this.starting = true;
    try {
      const runtime = await startVmQemu(this.ctx, this.file, a, incoming, () => this.save());
      this.sizer.reset();
      this.devices.reset();
      this.adopt(runtime);
      this.save();
      this.ctx.changed(); // its pid goes into the fence targets at once
    } finally {
      this.starting = false;
    }
  }

  /**
   * Deletes the VM from this host. `all`: with every volume (VM deleted);
   * else only what is this host's own (released: the VM runs elsewhere now,
   * shared volumes stay for it).
   */
  private async remove(all: boolean): Promise<void> {
    this.removing = true;
    try {
      await deleteVmFiles(this.ctx, this.file, this.runtime, all);
      this.serial.disconnect();
    } catch (err) {
      this.removing = false;
      throw err;
    }
    this.removed = true;
    this.clearRecheck();
    this.volumes.forget();
    this.log.info('removed the VM, its volumes and its runtime dir');
    this.ctx.removed(this.id);
  }

  private onExit(runtime: VmRuntime, exit: QemuExit): void {
    if (this.runtime !== runtime) return;
    this.runtime = null;
    this.serial.disconnect();
    const stopRequested = this.file.stopRequestedAt !== undefined;
    const state = exitState(exit.shutdownSeen, stopRequested);
    const reason = exitReason({ state, stopRequested, code: exit.code, signal: exit.signal, guestShutdown: exit.guestShutdown, stderr: exit.stderr });
    Object.assign(this.file, { running: false, lastExit: { state, reason } });
    delete this.file.stopRequestedAt;
    if (!this.removing) this.save();
    this.log.info({ pid: runtime.pid, state, code: exit.code, signal: exit.signal }, `QEMU exited: ${reason}`);
    this.clearRecheck();
    this.ctx.changed();
    // A start or stop may have waited for this exit.
    if (!this.removing) this.converge(this.wanted ?? this.file.assignment);
  }

  private onGuestReady(): void {
    if (!this.runtime) return;
    this.file.guestReadyAt = new Date().toISOString();
    this.save();
    this.ctx.changed();
  }

  private onReset(): void {
    delete this.file.guestReadyAt;
    this.save();
    this.ctx.changed();
  }

  private currentError(a: VmAssignment): string | undefined {
    if (a.power === 'absent') return undefined;
    if (this.volumeError && missingVolumes(this.ctx.paths, a).length > 0) return this.volumeError; // gone once no volume is missing (a failed hot-add rolled back)
    if (this.haRefusal && !this.runtime && a.power !== 'stopped') return this.haRefusal;
    const failed = this.file.startError;
    return failed && failed.epoch === a.epoch && a.power !== 'stopped' ? failed.message : undefined;
  }

  private scheduleRecheck(at: number | undefined): void {
    this.clearRecheck();
    if (at === undefined) return;
    this.recheck = setTimeout(() => this.converge(this.wanted ?? this.file.assignment), Math.max(0, at - Date.now()));
  }

  private clearRecheck(): void {
    if (this.recheck) clearTimeout(this.recheck);
    this.recheck = null;
  }

  private save(): void {
    if (this.removed || this.removing) return;
    saveVmFile(this.ctx.paths, this.file);
  }
}
