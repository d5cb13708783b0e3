// The migration side of one VM's supervisor: it owns the outgoing or
// incoming migration of the VM, keeps its state in vm.json (so an agent
// restart neither loses it nor resumes a handed-over guest), and reports it.
import type { Logger } from 'pino';
import type { MigrationAssignment, MigrationReport } from '../api/migration.js';
import { cont } from '../qemu/commands.js';
import { IncomingMigration } from './migration-in.js';
import { OutgoingMigration } from './migration-out.js';
import type { VmFile } from './state-files.js';
import type { VmRuntime } from './vm-runtime.js';

export interface MigrationHost {
  file: VmFile;
  log: Logger;
  save(): void;
  changed(): void;
  /** Ids of the VM's disks in QEMU (disk0, disk1, ...), the node names are fmt-<id>. */
  diskIds(): string[];
}

export class VmMigration {
  private out: OutgoingMigration | null = null;
  private in: IncomingMigration | null = null;

  constructor(private readonly host: MigrationHost) {}

  get outgoingId(): string | undefined {
    return this.out?.status.id;
  }

  get outgoingActive(): boolean {
    return this.out !== null && !this.out.finished;
  }

  get migratedOut(): boolean {
    return this.host.file.migratedOut !== undefined;
  }

  get incomingState(): string | undefined {
    const m = this.host.file.migration;
    return m?.role === 'target' ? m.state : undefined;
  }

  report(): MigrationReport | undefined {
    return this.host.file.migration;
  }

  /** Starts sending the guest to the target of `m`; runs in the background. */
  startOutgoing(m: MigrationAssignment, runtime: VmRuntime): void {
    void this.outgoing(m, runtime).run();
  }

  private outgoing(m: MigrationAssignment, runtime: VmRuntime): OutgoingMigration {
    this.out = new OutgoingMigration(m, runtime.qmp, this.host.diskIds(), this.host.log, (s) => {
      if (s.state === 'completed') this.host.file.migratedOut = s.id;
      this.record({ id: s.id, role: 'source', state: s.state, progress: s.progress, path: s.path, result: s.result, error: s.error });
    });
    return this.out;
  }

  /**
   * Keeps (or gets) the guest running here. Before the handover the running
   * migration is cancelled. After a precopy handover the target never ran the
   * guest (it waits paused for the switchover), so resuming here is safe;
   * after postcopy it is not, and we refuse.
   */
  async cancelOutgoing(runtime: VmRuntime | null): Promise<void> {
    if (this.outgoingActive) return this.out?.cancel();
    const m = this.host.file.migration;
    if (!this.migratedOut || !runtime) return;
    if (m?.result?.postcopy || m?.path?.includes('postcopy')) {
      this.record({ ...(m ?? { id: this.host.file.migratedOut ?? '', role: 'source', state: 'completed' }), error: 'cannot cancel after postcopy began: the guest runs on the target' });
      return;
    }
    await cont(runtime.qmp);
    delete this.host.file.migratedOut;
    this.record({ ...(m ?? { id: '', role: 'source' }), state: 'cancelled', error: 'cancelled after the handover; the guest runs here again' });
  }

  /** Target: recorded before its QEMU starts, so a failed start still leaves a VM dir the agent knows to clean up. */
  beginIncoming(m: MigrationAssignment): void {
    this.record({ id: m.id, role: 'target', state: 'preparing' });
  }

  /** Target: QEMU started paused with -incoming defer; export the disks and listen. */
  async startIncoming(m: MigrationAssignment, runtime: VmRuntime): Promise<void> {
    const incoming = this.incoming(m, runtime);
    try {
      await incoming.listen();
    } catch (err) {
      this.record({ id: m.id, role: 'target', state: 'failed', error: (err as Error).message });
      throw err;
    }
  }

  private incoming(m: MigrationAssignment, runtime: VmRuntime, restored?: MigrationReport): IncomingMigration {
    const r = restored && { id: restored.id, state: restored.state, uri: restored.uri, nbd: restored.nbd, error: restored.error };
    this.in = new IncomingMigration(m, runtime.qmp, this.host.diskIds(), this.host.log, (s) => this.record({ id: s.id, role: 'target', state: s.state, uri: s.uri, nbd: s.nbd, error: s.error }), r);
    return this.in;
  }

  async switchover(runtime: VmRuntime | null): Promise<void> {
    if (!runtime) throw new Error('no QEMU to switch over to');
    if (!this.in) throw new Error('no incoming migration known (the agent restarted during it)');
    await this.in.switchover();
  }

  /**
   * After an agent restart, with its QEMU still running: take up the
   * migration that was under way (QEMU kept migrating while we were away).
   * The source follows the transfer to its end again (or starts it, if we
   * went away before it began); the target catches up with its QEMU and can
   * switch over as usual.
   */
  async reattach(runtime: VmRuntime, assignment: MigrationAssignment | undefined): Promise<void> {
    const m = this.host.file.migration;
    if (!m) return;
    const a: MigrationAssignment = assignment?.id === m.id && assignment.role === m.role ? assignment : { id: m.id, role: m.role, storage: this.host.file.assignment.spec.storage ?? 'local' };
    if (m.role === 'target') return this.incoming(a, runtime, m).reattach();
    if (this.migratedOut || m.state === 'completed' || m.state === 'failed' || m.state === 'cancelled') return;
    void this.outgoing(a, runtime).resume(m, !runtime.paused);
  }

  /** The guest runs here as a normal VM now: forget the migration. */
  clearIfDone(m: MigrationAssignment | undefined): void {
    const mine = this.host.file.migration;
    if (!mine || m?.id === mine.id) return;
    if (mine.role === 'target' && mine.state !== 'switched-over') return; // an unfinished target is released, not kept
    if (mine.role === 'source' && this.migratedOut) return; // released by the controller, never kept
    delete this.host.file.migration;
    this.out = null;
    this.in = null;
    this.host.save();
  }

  /** Progress goes out with the next report; vm.json is written only when the state changes (not 4 times a second). */
  private record(r: MigrationReport): void {
    const before = this.host.file.migration;
    this.host.file.migration = r;
    if (!before || before.state !== r.state || before.id !== r.id || before.error !== r.error || before.uri !== r.uri) this.host.save();
    this.host.changed();
  }
}
