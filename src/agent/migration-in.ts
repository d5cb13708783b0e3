// The target side of one live migration. Its QEMU was started paused and
// waiting (-S -incoming defer); here it gets its NBD export (local storage:
// the source mirrors the disks into it) and starts listening for the memory
// stream. The guest runs here only at switchover, when the controller has
// recorded that the source handed over, or at once when postcopy begins
// (from then on the target is the only place the guest can run).
import net from 'node:net';
import type { Logger } from 'pino';
import type { MigrationAssignment, MigrationReportState } from '../api/migration.js';
import { cont } from '../qemu/commands.js';
import { announceSelf, migrateIncoming, nbdExport, nbdServerStart, nbdServerStop, queryMigrate, setMigrationCapabilities } from '../qemu/migration.js';
import type { QmpClient, QmpEvent } from '../qemu/qmp-client.js';
import { incomingAfterRestart } from './migration-restart.js';

export interface IncomingStatus {
  id: string;
  state: MigrationReportState;
  uri?: string;
  nbd?: { host: string; port: number };
  error?: string;
}

const NBD_PORT_TRIES = 5;

export class IncomingMigration {
  readonly status: IncomingStatus;

  constructor(
    private readonly a: MigrationAssignment,
    private readonly qmp: QmpClient,
    private readonly diskIds: string[],
    private readonly log: Logger,
    private readonly changed: (s: IncomingStatus) => void,
    restored?: IncomingStatus,
  ) {
    this.status = restored ?? { id: a.id, state: 'preparing' };
    qmp.on('event', (ev: QmpEvent) => void this.onEvent(ev));
  }

  /** Sets up the NBD export (local storage) and the listening socket; reports the URIs. */
  async listen(): Promise<void> {
    const host = this.a.listenHost ?? '127.0.0.1';
    const postcopy = this.a.allowPostcopy === true || this.a.strategy === 'postcopy';
    await setMigrationCapabilities(this.qmp, { events: true, 'postcopy-ram': postcopy });
    if (this.a.storage === 'local') this.status.nbd = await this.exportDisks(host);
    await migrateIncoming(this.qmp, `tcp:${host}:0`);
    const info = await queryMigrate(this.qmp);
    const port = info['socket-address']?.[0]?.port;
    if (!port) throw new Error('QEMU did not tell the port it listens on for the migration');
    this.set({ state: 'listening', uri: `tcp:${host}:${port}` });
  }

  /** After an agent restart: catch up with what QEMU did while the agent was away (it kept receiving). */
  async reattach(): Promise<void> {
    const info = await queryMigrate(this.qmp).catch(() => undefined);
    const next = incomingAfterRestart(this.status.state, info?.status);
    this.log.info({ recorded: this.status.state, qemu: info?.status, next }, `incoming migration ${this.a.id} after the agent restart`);
    if (next.state) this.set({ state: next.state, ...(next.error ? { error: next.error } : {}) });
    if (next.resumeGuest) await this.resumeAndAnnounce();
  }

  /** The source handed over: end the NBD export, run the guest here, announce its MAC addresses. */
  async switchover(): Promise<void> {
    if (this.status.state === 'switched-over') return;
    if (this.status.nbd) await nbdServerStop(this.qmp).catch((err: Error) => this.log.warn(`nbd-server-stop: ${err.message}`));
    await this.resumeAndAnnounce();
    this.set({ state: 'switched-over' });
  }

  private async exportDisks(host: string): Promise<{ host: string; port: number }> {
    let port = 0;
    for (let i = 1; !port; i++) {
      const candidate = await freePort(host);
      try {
        await nbdServerStart(this.qmp, host, candidate);
        port = candidate;
      } catch (err) {
        if (i >= NBD_PORT_TRIES) throw err; // another process took the port in between: try another
      }
    }
    for (const id of this.diskIds) await nbdExport(this.qmp, `fmt-${id}`, id);
    return { host, port };
  }

  private async onEvent(ev: QmpEvent): Promise<void> {
    if (ev.event !== 'MIGRATION') return;
    const status = String((ev.data as { status?: string } | undefined)?.status);
    if (status === 'active' && this.status.state === 'listening') this.set({ state: 'transferring' });
    else if (status === 'postcopy-active') await this.onPostcopy();
    else if (status === 'completed' && this.status.state !== 'switched-over') this.set({ state: this.status.state === 'postcopy' ? 'switched-over' : 'completed' });
    else if (status === 'failed') this.set({ state: 'failed', error: 'the incoming migration failed (the source went away or cancelled)' });
  }

  /** Postcopy: the source has stopped for good; the guest must run here now, before the copy ends. */
  private async onPostcopy(): Promise<void> {
    this.set({ state: 'postcopy' });
    await this.resumeAndAnnounce().catch((err: Error) => this.log.error(`resuming the guest in postcopy failed: ${err.message}`));
  }

  private async resumeAndAnnounce(): Promise<void> {
    await cont(this.qmp);
    await announceSelf(this.qmp).catch((err: Error) => this.log.warn(`announce-self: ${err.message}`));
  }

  private set(change: Partial<IncomingStatus>): void {
    Object.assign(this.status, change);
    this.changed(this.status);
  }
}

/** A port free on `host` right now (the kernel's choice). */
export function freePort(host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, host, () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}
