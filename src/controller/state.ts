// Typed access to the controller's records in the Store. Every write goes
// through `commit`, which publishes the commit's events and wakes waiters.
import { ApiError, ErrorCode } from '../api/errors.js';
import { StoreConflictError, type CommitOp, type Store, type StoredObject } from '../store/store.js';
import type { ChangeFeed } from './change-feed.js';
import type { EventBus, EventDraft } from './events.js';
import { KIND, type GroupRecord, type HostRecord, type ImageRecord, type JobRecord, type VmRecord, type VolumeRecord } from './records.js';

export type Versioned<T> = StoredObject<T>;

export class ControllerState {
  constructor(
    readonly store: Store,
    readonly changes: ChangeFeed,
    readonly events: EventBus,
  ) {}

  async commit(ops: CommitOp[], events: EventDraft[] = []): Promise<number> {
    const rev = await this.store.commit(ops);
    for (const e of events) this.events.publish(e);
    this.changes.notify();
    return rev;
  }

  getVm(id: string): Promise<Versioned<VmRecord> | undefined> {
    return this.store.get<VmRecord>(KIND.vm, id);
  }

  async mustGetVm(id: string): Promise<Versioned<VmRecord>> {
    const vm = await this.getVm(id);
    if (!vm) throw new ApiError(ErrorCode.notFound, `VM ${id} no longer exists`);
    return vm;
  }

  /** A VM by name, or by id. */
  async findVm(nameOrId: string): Promise<Versioned<VmRecord> | undefined> {
    const index = await this.store.get<{ vmId: string }>(KIND.vmName, nameOrId);
    return this.getVm(index?.data.vmId ?? nameOrId);
  }

  async listVms(): Promise<Versioned<VmRecord>[]> {
    return this.store.list<VmRecord>(KIND.vm);
  }

  async vmsOnHost(hostId: string): Promise<Versioned<VmRecord>[]> {
    return (await this.listVms()).filter((v) => v.data.hostId === hostId);
  }

  getHost(id: string): Promise<Versioned<HostRecord> | undefined> {
    return this.store.get<HostRecord>(KIND.host, id);
  }

  listHosts(): Promise<Versioned<HostRecord>[]> {
    return this.store.list<HostRecord>(KIND.host);
  }

  listGroups(): Promise<Versioned<GroupRecord>[]> {
    return this.store.list<GroupRecord>(KIND.group);
  }

  listImages(): Promise<Versioned<ImageRecord>[]> {
    return this.store.list<ImageRecord>(KIND.image);
  }

  listVolumes(): Promise<Versioned<VolumeRecord>[]> {
    return this.store.list<VolumeRecord>(KIND.volume);
  }

  getJob(id: string): Promise<Versioned<JobRecord> | undefined> {
    return this.store.get<JobRecord>(KIND.job, id);
  }

  listJobs(): Promise<Versioned<JobRecord>[]> {
    return this.store.list<JobRecord>(KIND.job);
  }
}

export function putOp<T>(kind: string, id: string, data: T, expectRev?: number): CommitOp {
  return { op: 'put', kind, id, data, expectRev };
}

export function createOp<T>(kind: string, id: string, data: T): CommitOp {
  return { op: 'create', kind, id, data };
}

export function deleteOp(kind: string, id: string): CommitOp {
  return { op: 'delete', kind, id };
}

/** Runs a read-modify-commit again when a compare-and-swap lost to a concurrent writer. */
export async function retryOnConflict<T>(fn: () => Promise<T>, attempts = 8): Promise<T> {
  for (let i = 1; ; i++) {
    try {
      return await fn();
    } catch (err) {
      if (!(err instanceof StoreConflictError) || i >= attempts) throw err;
    }
  }
}
