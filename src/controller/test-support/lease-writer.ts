// A host's lease record in a shared pool directory, renewed the way a
// fencer renews it (docs/ha.md: temp file, rename), for the controller's
// failover tests: they stop renewing to make a host look dead.
import { randomBytes } from 'node:crypto';
import { mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { HostInventory } from '../../api/resources.js';
import type { LeaseRecord } from '../../core/ha-timing.js';
import { INVENTORY } from './fake-agent.js';

/** A fake host's inventory with the shared pool mounted (the pool id the test wrote into it). */
export function sharedInventory(pool: string, id = 'pool-1'): HostInventory {
  return { ...INVENTORY, sharedPool: { path: pool, id, freeBytes: 10 * 1024 ** 3 } };
}

export class LeaseWriter {
  seq = 0;
  readonly incarnation = randomBytes(6).toString('hex');
  private timer: NodeJS.Timeout | undefined;

  constructor(
    readonly poolDir: string,
    readonly hostId: string,
  ) {}

  /** One renewal. */
  renew(): void {
    const dir = join(this.poolDir, 'leases');
    mkdirSync(dir, { recursive: true });
    const record: LeaseRecord = { hostId: this.hostId, incarnation: this.incarnation, seq: ++this.seq, writtenAt: new Date().toISOString() };
    const file = join(dir, `${this.hostId}.json`);
    writeFileSync(`${file}.tmp`, JSON.stringify(record));
    renameSync(`${file}.tmp`, file);
  }

  start(everyMs: number): this {
    this.stop();
    this.renew();
    this.timer = setInterval(() => this.renew(), everyMs);
    return this;
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }
}
