// The source side of one live migration: mirror the disks to the target's
// NBD export (local storage), stream memory to the target QEMU, tune the
// migration with the policy of src/core until it converges, and end the
// mirrors once the guest stopped here. It never resumes a guest that the
// target may have run; cancel() before the end leaves the guest running here.
import net from 'node:net';
import type { Logger } from 'pino';
import type { MigrationAssignment, MigrationProgress, MigrationReportState, MigrationResult } from '../api/migration.js';
import { initialSettings, initialState, nextStep, type PolicyAction, type PolicyConfig, type PolicyState } from '../core/migration-policy.js';
import { observeProgress, startStallWatch, type StallWatch } from '../core/migration-stall.js';
import {
  blockdevAddNbd, blockdevDel, blockdevMirror, blockJobCancel, jobDismiss, migrate, migrateCancel, migrateStartPostcopy,
  queryBlockJobs, queryMigrate, setMigrationCapabilities, setMigrationParameters, type BlockJobInfo, type MigrationInfo,
} from '../qemu/migration.js';
import type { QmpClient } from '../qemu/qmp-client.js';
import { outgoingAfterRestart } from './migration-restart.js';

const POLL_MS = 250;
const NBD_PROBE_MS = 3000;
const UNLIMITED_BANDWIDTH = 1024 ** 4; // 1 TiB/s: QEMU's default cap (128 MiB/s) would otherwise apply
const MIRROR_END_MS = 60_000;

export interface OutgoingStatus {
  id: string;
  state: MigrationReportState;
  progress?: MigrationProgress;
  path: string[];
  result?: MigrationResult;
  error?: string;
}

export class OutgoingMigration {
  readonly status: OutgoingStatus;
  private policy: PolicyState;
  private readonly cfg: PolicyConfig;
  private cancelRequested = false;
  /** Progress of the data on the wire, and why we gave up when it stopped. */
  private stall: StallWatch = startStallWatch(Date.now());
  private stallReason: string | undefined;
  private mirrors: string[] = [];

  constructor(
    private readonly a: MigrationAssignment,
    private readonly qmp: QmpClient,
    private readonly diskIds: string[],
    private readonly log: Logger,
    private readonly changed: (s: OutgoingStatus) => void,
  ) {
    this.cfg = { strategy: a.strategy ?? 'auto', maxDowntimeMs: a.maxDowntimeMs ?? 300, allowPostcopy: a.allowPostcopy === true || a.strategy === 'postcopy' };
    this.policy = initialState(this.cfg);
    this.status = { id: a.id, state: 'preparing', path: this.policy.path };
  }

  get finished(): boolean {
    return ['completed', 'failed', 'cancelled'].includes(this.status.state);
  }

  /** Runs to completed, failed or cancelled; never throws. */
  async run(): Promise<void> {
    await this.guarded(() => this.transfer());
  }

  /**
   * After an agent restart, with the state recorded before it: follow the
   * migration QEMU still runs (or read back how it ended), or start it if
   * the agent went away before it began. Never throws.
   */
  async resume(recorded: { state: MigrationReportState; path?: string[] }, guestRunning: boolean): Promise<void> {
    if (recorded.path?.length) this.policy = { ...this.policy, path: [...recorded.path] };
    this.status.path = this.policy.path;
    await this.guarded(async () => {
      const mode = outgoingAfterRestart(recorded.state, (await queryMigrate(this.qmp)).status, guestRunning);
      this.mirrors = (await this.mirrorJobs()).map((j) => j.device.slice('mirror-'.length));
      if (mode === 'keep') return this.set({ state: recorded.state });
      if (mode === 'lost') throw new Error('the agent restarted during the migration and QEMU no longer knows of it');
      if (mode === 'follow') {
        this.set({ state: recorded.state === 'postcopy' ? 'postcopy' : 'transferring' });
        return this.monitor();
      }
      // Not begun (or an earlier migration's end): drop what the first attempt set up, and begin.
      await this.endMirrors(false);
      return this.transfer();
    });
  }

  private async transfer(): Promise<void> {
    await this.configure();
    if (this.a.storage === 'local') await this.mirrorDisks();
    if (this.cancelRequested) return this.endCancelled('cancelled before the memory transfer began');
    if (!this.a.targetUri) throw new Error('no target URI in the assignment');
    await migrate(this.qmp, this.a.targetUri);
    this.stall = startStallWatch(Date.now()); // RAM bytes count from 0 again after the disks
    this.set({ state: 'transferring' });
    // A cancel that came while `migrate` was on its way did not reach QEMU (it cancels only a transfer).
    if (this.cancelRequested) await migrateCancel(this.qmp).catch((err: Error) => this.log.warn(`migrate_cancel: ${err.message}`));
    await this.monitor();
  }

  private async guarded(work: () => Promise<void>): Promise<void> {
    try {
      await work();
    } catch (err) {
      await this.abortMirrors();
      this.set({ state: this.cancelRequested ? 'cancelled' : 'failed', error: (err as Error).message });
    }
  }

  /** Stops before the switch: QEMU resumes the guest here if it had paused it. No effect in postcopy. */
  async cancel(): Promise<void> {
    this.cancelRequested = true;
    if (this.status.state === 'transferring') await migrateCancel(this.qmp).catch((err: Error) => this.log.warn(`migrate_cancel: ${err.message}`));
  }

  private async configure(): Promise<void> {
    const init = initialSettings(this.cfg);
    await setMigrationCapabilities(this.qmp, { events: true, 'auto-converge': init.autoConverge, 'postcopy-ram': init.postcopyCapability });
    await setMigrationParameters(this.qmp, {
      'max-bandwidth': this.a.bandwidthBytes ?? UNLIMITED_BANDWIDTH,
      'downtime-limit': init.downtimeLimitMs,
      'cpu-throttle-initial': init.throttleInitialPct,
      'cpu-throttle-increment': init.throttleIncrementPct,
    });
  }

  private async mirrorDisks(): Promise<void> {
    if (!this.a.nbd) throw new Error('local-storage migration without the target NBD address');
    this.set({ state: 'mirroring' });
    // QEMU connects to an NBD server with its main loop blocked: check the target answers first.
    await probeTcp(this.a.nbd.host, this.a.nbd.port, NBD_PROBE_MS).catch((err: Error) => {
      throw new Error(`cannot reach the target's disk export at ${this.a.nbd?.host}:${this.a.nbd?.port}: ${err.message}`);
    });
    for (const id of this.diskIds) {
      await blockdevAddNbd(this.qmp, `mig-${id}`, this.a.nbd, id);
      await blockdevMirror(this.qmp, `mirror-${id}`, `fmt-${id}`, `mig-${id}`);
      this.mirrors.push(id);
    }
    for (;;) {
      const jobs = await this.mirrorJobs();
      this.set({ progress: { ...this.emptyProgress(), ...diskProgress(jobs) } });
      if (jobs.length === this.mirrors.length && jobs.every((j) => j.ready)) return;
      const gone = this.mirrors.find((id) => !jobs.some((j) => j.device === `mirror-${id}` && j.status !== 'concluded'));
      if (gone) throw new Error(`the disk mirror of ${gone} ended before it was in sync (the target went away?)`);
      if (this.cancelRequested) return;
      const moved = jobs.reduce((sum, j) => sum + j.offset, 0);
      const stall = observeProgress(this.stall, moved, Date.now());
      this.stall = stall.watch;
      if (stall.stalled) throw new Error(`the disk mirror stalled: ${stall.stalled}; the VM stays here`);
      await sleep(POLL_MS);
    }
  }

  /**
   * Gives the migration up when no byte moved for a while (link down, target
   * hung): TCP would retry for many minutes, and meanwhile the VM could not
   * move elsewhere. QEMU resumes the guest here.
   */
  private async checkStall(movedBytes: number): Promise<void> {
    const r = observeProgress(this.stall, movedBytes, Date.now());
    this.stall = r.watch;
    if (!r.stalled || this.stallReason) return;
    this.stallReason = `${r.stalled}; the VM stays here`;
    this.log.warn(`migration ${this.a.id}: ${this.stallReason}`);
    await migrateCancel(this.qmp).catch((err: Error) => this.log.warn(`migrate_cancel: ${err.message}`));
  }

  private async monitor(): Promise<void> {
    for (;;) {
      const info = await queryMigrate(this.qmp);
      const status = info.status ?? 'none';
      if (status === 'completed') return this.complete(info);
      if (status === 'failed' || status === 'cancelled') return this.endFailed(info);
      if (status === 'postcopy-paused') throw new Error('postcopy was interrupted: the guest is paused on both hosts (see docs/migration.md)');
      const progress = progressOf(info);
      this.set({ progress, state: status === 'postcopy-active' ? 'postcopy' : 'transferring' });
      if (status !== 'postcopy-active') await this.checkStall(progress.transferredBytes);
      await this.applyPolicy(info, progress);
      await sleep(POLL_MS);
    }
  }

  private async applyPolicy(info: MigrationInfo, p: MigrationProgress): Promise<void> {
    const sample = { passes: p.passes, transferredBytes: p.transferredBytes, remainingBytes: p.remainingBytes, totalBytes: p.totalBytes, throttlePct: p.throttlePct, throughputBytes: p.throughputBytes, postcopy: info.status === 'postcopy-active' };
    const step = nextStep(this.cfg, this.policy, sample);
    this.policy = step.state;
    this.status.path = step.state.path;
    for (const action of step.actions) await this.apply(action);
  }

  private async apply(action: PolicyAction): Promise<void> {
    this.log.info({ action }, `migration ${this.a.id}: ${action.kind}`);
    if (action.kind === 'set-downtime') await setMigrationParameters(this.qmp, { 'downtime-limit': action.ms });
    else if (action.kind === 'set-throttle') await setMigrationParameters(this.qmp, { 'cpu-throttle-initial': action.initialPct, 'cpu-throttle-increment': action.incrementPct });
    else await migrateStartPostcopy(this.qmp);
  }

  private async complete(info: MigrationInfo): Promise<void> {
    // The guest is stopped here; ending a ready mirror copies what is left and detaches it.
    await this.endMirrors(true);
    const ram = info.ram;
    const postcopy = this.status.path.includes('postcopy');
    const result: MigrationResult = {
      downtimeMs: info.downtime ?? 0, totalMs: info['total-time'] ?? 0, setupMs: info['setup-time'],
      transferredBytes: ram?.transferred ?? 0, ramBytes: ram?.total ?? 0, postcopy,
    };
    this.set({ state: 'completed', result, progress: progressOf(info) });
  }

  private async endFailed(info: MigrationInfo): Promise<void> {
    await this.abortMirrors();
    if (this.cancelRequested) return this.set({ state: 'cancelled', error: 'cancelled on request' });
    this.set({ state: 'failed', error: this.stallReason ?? info['error-desc'] ?? 'the migration failed (the target went away?)' });
  }

  private async endCancelled(why: string): Promise<void> {
    await this.abortMirrors();
    this.set({ state: 'cancelled', error: why });
  }

  private async abortMirrors(): Promise<void> {
    await this.endMirrors(false).catch((err: Error) => this.log.warn(`ending the disk mirrors: ${err.message}`));
  }

  /** Ends every mirror job and removes its NBD node; `mustSync` fails when a mirror could not finish its copy. */
  private async endMirrors(mustSync: boolean): Promise<void> {
    for (const id of this.mirrors) await blockJobCancel(this.qmp, `mirror-${id}`).catch(() => undefined);
    const deadline = Date.now() + MIRROR_END_MS;
    while (this.mirrors.length && Date.now() < deadline) {
      const jobs = await this.mirrorJobs();
      if (jobs.every((j) => j.status === 'concluded' || j.status === 'null')) break;
      await sleep(50);
    }
    for (const id of this.mirrors) {
      await jobDismiss(this.qmp, `mirror-${id}`).catch(() => undefined);
      await blockdevDel(this.qmp, `mig-${id}`).catch(() => undefined);
    }
    const left = (await this.mirrorJobs()).map((j) => j.device);
    this.mirrors = [];
    if (mustSync && left.length) throw new Error(`disk mirrors did not end: ${left.join(', ')}`);
  }

  private async mirrorJobs(): Promise<BlockJobInfo[]> {
    return (await queryBlockJobs(this.qmp)).filter((j) => j.device.startsWith('mirror-'));
  }

  private emptyProgress(): MigrationProgress {
    return { transferredBytes: 0, remainingBytes: 0, totalBytes: 0, dirtyRateBytes: 0, throughputBytes: 0, passes: 0, throttlePct: 0 };
  }

  private set(change: Partial<OutgoingStatus>): void {
    Object.assign(this.status, change);
    this.changed(this.status);
  }
}

export function progressOf(info: MigrationInfo): MigrationProgress {
  const ram = info.ram;
  return {
    transferredBytes: ram?.transferred ?? 0,
    remainingBytes: ram?.remaining ?? 0,
    totalBytes: ram?.total ?? 0,
    dirtyRateBytes: (ram?.['dirty-pages-rate'] ?? 0) * (ram?.['page-size'] ?? 4096),
    throughputBytes: ((ram?.mbps ?? 0) * 1e6) / 8,
    ...(info['expected-downtime'] !== undefined ? { expectedDowntimeMs: info['expected-downtime'] } : {}),
    passes: ram?.['dirty-sync-count'] ?? 0,
    throttlePct: info['cpu-throttle-percentage'] ?? 0,
  };
}

function diskProgress(jobs: BlockJobInfo[]): Pick<MigrationProgress, 'diskRemainingBytes' | 'diskTotalBytes'> {
  const total = jobs.reduce((s, j) => s + j.len, 0);
  const done = jobs.reduce((s, j) => s + j.offset, 0);
  return { diskTotalBytes: total, diskRemainingBytes: Math.max(0, total - done) };
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** Resolves once a TCP connection to host:port opens (then closes it); rejects on error or after timeoutMs. */
function probeTcp(host: string, port: number, timeoutMs: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host, port });
    socket.setTimeout(timeoutMs, () => socket.destroy(new Error(`no answer within ${timeoutMs} ms`)));
    socket.once('connect', () => {
      socket.end();
      resolve();
    });
    socket.once('error', reject);
  });
}
