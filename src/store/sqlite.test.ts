import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { SqliteStore } from './sqlite.js';
import { storeContract } from './store.contract.js';

const dir = mkdtempSync(join(tmpdir(), 'drover-store-'));
let n = 0;
afterAll(() => rmSync(dir, { recursive: true, force: true }));

storeContract('sqlite', async () => new SqliteStore(join(dir, `contract-${n++}.db`)));

describe('SqliteStore on disk', () => {
  it('creates the database file readable by its owner only', async () => {
    const path = join(dir, 'mode.db');
    const s = new SqliteStore(path);
    await s.commit([{ op: 'create', kind: 'vm', id: 'a', data: 1 }]);
    expect(statSync(path).mode & 0o777).toBe(0o600);
    expect(statSync(`${path}-wal`).mode & 0o777).toBe(0o600);
    await s.close();
  });

  it('keeps objects and the revision across a clean reopen', async () => {
    const path = join(dir, 'reopen.db');
    const a = new SqliteStore(path);
    await a.commit([{ op: 'create', kind: 'vm', id: 'a', data: { x: 1 } }]);
    await a.commit([{ op: 'put', kind: 'vm', id: 'a', data: { x: 2 }, expectRev: 1 }]);
    await a.close();
    const b = new SqliteStore(path);
    expect(await b.revision()).toBe(2);
    expect(await b.get('vm', 'a')).toEqual({ kind: 'vm', id: 'a', rev: 2, data: { x: 2 } });
    await b.close();
  });

  it('an acknowledged commit survives a SIGKILL of the process that made it', async () => {
    const path = join(dir, 'crash.db');
    // A child process commits, prints "committed", and kills itself without closing the database.
    const script = `
      import { SqliteStore } from ${JSON.stringify(new URL('./sqlite.ts', import.meta.url).pathname)};
      const s = new SqliteStore(${JSON.stringify(path)});
      for (let i = 0; i < 20; i++) await s.commit([{ op: 'put', kind: 'counter', id: 'c', data: i }, { op: 'create', kind: 'item', id: 'i' + String(i).padStart(2, '0'), data: i }]);
      console.log('committed');
      process.kill(process.pid, 'SIGKILL');
    `;
    const r = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { encoding: 'utf8', timeout: 30_000 });
    expect(r.signal, r.stderr).toBe('SIGKILL');
    expect(r.stdout).toContain('committed');
    const s = new SqliteStore(path);
    expect(await s.revision()).toBe(20);
    expect((await s.get('counter', 'c'))?.data).toBe(19);
    expect((await s.list('item')).length).toBe(20);
    await s.close();
  });
});
