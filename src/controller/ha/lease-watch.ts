// The controller's view of the hosts' lease records in the shared pool
// (`<pool>/leases/<hostId>.json`, written by each host's fencer; docs/ha.md).
// It only ever asks whether a record changed (leaseChanged: a new incarnation
// or seq), and notes when it saw that on its own monotonic clock
// (performance.now). It never compares the record's wall-clock time with
// anything.
//
// What counts as "unchanged for X ms" is deliberately conservative:
// - a change counts from the END of the read that saw it (the renewal
//   started before that, never after); changes seen in the same poll count
//   from the end of the last of those reads, and all reads of a poll share
//   its start, so hosts whose renewals stopped between the same two polls
//   expire in the same tick (and fail over together, one restart order);
// - "unchanged" counts only up to the START of the latest read that came
//   back (a read that hangs proves nothing);
// - a read that fails (other than "no such file"), the controller's start,
//   and a stall of the controller itself (restartBaselines) all count as a
//   change: none of them is evidence that the host stopped renewing.
// Each host has at most one read in flight; a hung read blocks only its host.
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import type { LeaseObservation } from '../../core/ha-failover.js';
import { leaseChanged, type LeaseRecord } from '../../core/ha-timing.js';

/** The file the agents' pool id lives in (src/host/shared-pool.ts writes it; equal ids = the same storage). */
export const POOL_ID_FILE = 'drover-pool-id';

interface HostLease {
  record?: Pick<LeaseRecord, 'incarnation' | 'seq'>;
  /** When the current record was first seen, or the last failed read ended. */
  changedAt: number;
  /** The poll whose read saw that change. */
  changedInPoll?: number;
  /** The start of the latest read that came back (with a record or "no such file"). */
  lastReadStart?: number;
  readError?: string;
  inFlightSince?: number;
}

export function leaseFile(poolDir: string, hostId: string): string {
  return path.join(poolDir, 'leases', `${hostId}.json`);
}

function parseLease(text: string, hostId: string): Pick<LeaseRecord, 'incarnation' | 'seq'> {
  const r = JSON.parse(text) as Partial<LeaseRecord>;
  if (typeof r.incarnation !== 'string' || typeof r.seq !== 'number') throw new Error('not a lease record (no incarnation or seq)');
  if (r.hostId !== hostId) throw new Error(`the record names host ${String(r.hostId)}`);
  return { incarnation: r.incarnation, seq: r.seq };
}

export class LeaseWatch {
  private readonly hosts = new Map<string, HostLease>();
  private baseline: number;
  private polls = 0;
  private poolIdValue: string | undefined;

  constructor(
    readonly dir: string,
    private readonly clock: () => number = () => performance.now(),
  ) {
    this.baseline = clock();
  }

  /** The id written in the pool by the first agent that opened it (undefined until one did). */
  get poolId(): string | undefined {
    return this.poolIdValue;
  }

  /** Starts a read of each host's record whose previous read has ended; resolves when those reads end. */
  poll(hostIds: Iterable<string>): Promise<void> {
    const start = this.clock();
    const poll = ++this.polls;
    const reads = [...hostIds].map((id) => this.readOne(id, start, poll));
    if (this.poolIdValue === undefined) reads.push(this.readPoolId());
    return Promise.all(reads).then(() => undefined);
  }

  /** What was seen of a host's lease until now. */
  observe(hostId: string): LeaseObservation & { readInFlightMs?: number } {
    const h = this.hosts.get(hostId);
    const now = this.clock();
    const inFlight = h?.inFlightSince !== undefined ? { readInFlightMs: Math.round(now - h.inFlightSince) } : {};
    if (!h?.record) return { seen: false, unchangedMs: 0, ...(h?.readError ? { readError: h.readError } : {}), ...inFlight };
    const changedAt = Math.max(h.changedAt, this.baseline);
    const upTo = h.lastReadStart ?? changedAt;
    return { seen: true, unchangedMs: Math.max(0, Math.round(upTo - changedAt)), ...(h.readError ? { readError: h.readError } : {}), ...inFlight };
  }

  /** The controller itself stalled (or just started): nothing read before now counts as evidence of silence. */
  restartBaselines(): void {
    this.baseline = this.clock();
  }

  /** Forgets a host (it left the pool). */
  forget(hostId: string): void {
    this.hosts.delete(hostId);
  }

  private async readOne(hostId: string, start: number, poll: number): Promise<void> {
    let h = this.hosts.get(hostId);
    if (!h) {
      h = { changedAt: this.baseline };
      this.hosts.set(hostId, h);
    }
    if (h.inFlightSince !== undefined) return;
    h.inFlightSince = start;
    try {
      const record = parseLease(await readFile(leaseFile(this.dir, hostId), 'utf8'), hostId);
      if (leaseChanged(h.record, record)) {
        h.record = record;
        this.changed(h, poll);
      }
      h.lastReadStart = start;
      delete h.readError;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
        // No record (yet, or any more): no renewal either.
        h.lastReadStart = start;
        delete h.readError;
      } else {
        h.readError = (err as Error).message;
        this.changed(h, poll);
      }
    } finally {
      delete h.inFlightSince;
    }
  }

  /**
   * A change seen now, by a read of `poll`: it and the other changes that
   * poll saw count from now (later is on the safe side). Only while no newer
   * poll started: a read that hung past it moves no other host's age.
   */
  private changed(h: HostLease, poll: number): void {
    const at = this.clock();
    h.changedAt = at;
    h.changedInPoll = poll;
    if (poll !== this.polls) return;
    for (const other of this.hosts.values()) if (other.changedInPoll === poll) other.changedAt = at;
  }

  private async readPoolId(): Promise<void> {
    try {
      const id = (await readFile(path.join(this.dir, POOL_ID_FILE), 'utf8')).trim();
      if (id) this.poolIdValue = id;
    } catch {
      // Not there yet: no agent opened the pool so far.
    }
  }
}
