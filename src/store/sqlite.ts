// The embedded Store: one SQLite file (WAL, synchronous=FULL so an
// acknowledged commit survives a power cut), readable by its owner only.
import Database from 'better-sqlite3';
import { chmodSync, closeSync, existsSync, openSync } from 'node:fs';
import { StoreConflictError, type CommitOp, type ListOptions, type Store, type StoredObject } from './store.js';

interface Row {
  kind: string;
  id: string;
  rev: number;
  data: string;
}

const SCHEMA = `
  CREATE TABLE IF NOT EXISTS objects (
    kind TEXT NOT NULL,
    id   TEXT NOT NULL,
    rev  INTEGER NOT NULL,
    data TEXT NOT NULL,
    PRIMARY KEY (kind, id)
  ) WITHOUT ROWID;
  CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
  INSERT OR IGNORE INTO meta (key, value) VALUES ('revision', '0'), ('schema', '1');
`;

export class SqliteStore implements Store {
  private readonly db: Database.Database;
  private readonly stmts;
  private readonly applyAll: (ops: readonly CommitOp[]) => number;

  constructor(readonly path: string) {
    createPrivateFile(path);
    this.db = new Database(path, { timeout: 5000 });
    this.db.pragma('journal_mode = WAL');
    this.db.pragma('synchronous = FULL');
    this.db.pragma('busy_timeout = 5000');
    this.db.exec(SCHEMA);
    for (const suffix of ['-wal', '-shm']) if (existsSync(path + suffix)) chmodSync(path + suffix, 0o600);
    this.stmts = {
      get: this.db.prepare<[string, string], Row>('SELECT kind, id, rev, data FROM objects WHERE kind = ? AND id = ?'),
      list: this.db.prepare<[string, string, number], Row>('SELECT kind, id, rev, data FROM objects WHERE kind = ? AND id > ? ORDER BY id LIMIT ?'),
      rev: this.db.prepare<[string, string], { rev: number }>('SELECT rev FROM objects WHERE kind = ? AND id = ?'),
      upsert: this.db.prepare('INSERT INTO objects (kind, id, rev, data) VALUES (?, ?, ?, ?) ON CONFLICT (kind, id) DO UPDATE SET rev = excluded.rev, data = excluded.data'),
      remove: this.db.prepare('DELETE FROM objects WHERE kind = ? AND id = ?'),
      revision: this.db.prepare<[], { value: string }>("SELECT value FROM meta WHERE key = 'revision'"),
      setRevision: this.db.prepare("UPDATE meta SET value = ? WHERE key = 'revision'"),
    };
    // A transaction: a throw inside rolls every op back.
    this.applyAll = this.db.transaction((ops: readonly CommitOp[]) => {
      const next = this.currentRevision() + 1;
      for (const op of ops) this.apply(op, next);
      this.stmts.setRevision.run(String(next));
      return next;
    });
  }

  async get<T = unknown>(kind: string, id: string): Promise<StoredObject<T> | undefined> {
    const row = this.stmts.get.get(kind, id);
    return row ? toObject<T>(row) : undefined;
  }

  async list<T = unknown>(kind: string, opts: ListOptions = {}): Promise<StoredObject<T>[]> {
    const rows = this.stmts.list.all(kind, opts.after ?? '', opts.limit ?? -1);
    return rows.map((r) => toObject<T>(r));
  }

  async commit(ops: readonly CommitOp[]): Promise<number> {
    if (ops.length === 0) return this.currentRevision();
    return this.applyAll(ops);
  }

  async revision(): Promise<number> {
    return this.currentRevision();
  }

  async close(): Promise<void> {
    if (this.db.open) this.db.close();
  }

  private currentRevision(): number {
    return Number(this.stmts.revision.get()?.value ?? 0);
  }

  private apply(op: CommitOp, rev: number): void {
    const current = this.stmts.rev.get(op.kind, op.id)?.rev;
    const where = `${op.kind}/${op.id}`;
    if (op.op === 'create' && current !== undefined) throw new StoreConflictError(op.kind, op.id, `${where} already exists`);
    if (op.op !== 'create' && op.expectRev !== undefined && current !== op.expectRev) {
      throw new StoreConflictError(op.kind, op.id, `${where} is at revision ${current ?? 'none'}, expected ${op.expectRev}`);
    }
    if (op.op === 'delete') this.stmts.remove.run(op.kind, op.id);
    else this.stmts.upsert.run(op.kind, op.id, rev, JSON.stringify(op.data));
  }
}

function toObject<T>(row: Row): StoredObject<T> {
  return { kind: row.kind, id: row.id, rev: row.rev, data: JSON.parse(row.data) as T };
}

/** Creates the database file with mode 0600 before SQLite opens it (SQLite gives its WAL the same mode). */
function createPrivateFile(path: string): void {
  if (path === ':memory:') return;
  closeSync(openSync(path, 'a', 0o600));
  chmodSync(path, 0o600);
}
