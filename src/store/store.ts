// The Store port: versioned JSON objects addressed by (kind, id), changed only
// through atomic commits. Async so a replicated implementation (etcd) can sit
// behind the same interface; SQLite (sqlite.ts) is the embedded default.

export interface StoredObject<T = unknown> {
  kind: string;
  id: string;
  /** The global revision of the commit that last wrote this object. */
  rev: number;
  data: T;
}

export type CommitOp =
  /** Fails with StoreConflictError when the object exists. */
  | { op: 'create'; kind: string; id: string; data: unknown }
  /** Creates or replaces; with expectRev the object must exist at exactly that revision. */
  | { op: 'put'; kind: string; id: string; data: unknown; expectRev?: number }
  /** Removing a missing object is a no-op, unless expectRev is given (then it is a conflict). */
  | { op: 'delete'; kind: string; id: string; expectRev?: number };

export interface ListOptions {
  /** Only ids strictly greater than this one (for paging). */
  after?: string;
  limit?: number;
}

export interface Store {
  get<T = unknown>(kind: string, id: string): Promise<StoredObject<T> | undefined>;
  /** Objects of one kind, ordered by id. */
  list<T = unknown>(kind: string, opts?: ListOptions): Promise<StoredObject<T>[]>;
  /**
   * Applies every op or none. Returns the new global revision; a commit with
   * at least one op increases it by exactly one. An empty commit changes
   * nothing and returns the current revision.
   */
  commit(ops: readonly CommitOp[]): Promise<number>;
  /** The global revision: the number of non-empty commits so far. */
  revision(): Promise<number>;
  close(): Promise<void>;
}

/** A create of an existing object, or a compare-and-swap that lost. Nothing of the commit was applied. */
export class StoreConflictError extends Error {
  constructor(
    readonly kind: string,
    readonly id: string,
    message: string,
  ) {
    super(message);
    this.name = 'StoreConflictError';
  }
}
