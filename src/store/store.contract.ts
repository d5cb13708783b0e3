// The behaviour every Store implementation keeps. A test file of each
// implementation calls storeContract with a factory of fresh, empty stores.
import { afterEach, describe, expect, it } from 'vitest';
import { StoreConflictError, type Store } from './store.js';

export function storeContract(name: string, makeStore: () => Promise<Store>): void {
  describe(`Store contract: ${name}`, () => {
    const opened: Store[] = [];
    const fresh = async () => {
      const s = await makeStore();
      opened.push(s);
      return s;
    };
    afterEach(async () => {
      await Promise.all(opened.splice(0).map((s) => s.close()));
    });

    it('starts empty at revision 0', async () => {
      const s = await fresh();
      expect(await s.revision()).toBe(0);
      expect(await s.get('vm', 'a')).toBeUndefined();
      expect(await s.list('vm')).toEqual([]);
    });

    it('creates, reads back JSON data and stamps the commit revision', async () => {
      const s = await fresh();
      const rev = await s.commit([{ op: 'create', kind: 'vm', id: 'a', data: { n: 1, tags: ['x'], nested: { ok: true } } }]);
      expect(rev).toBe(1);
      expect(await s.get('vm', 'a')).toEqual({ kind: 'vm', id: 'a', rev: 1, data: { n: 1, tags: ['x'], nested: { ok: true } } });
    });

    it('increases the global revision by one per commit, whatever the number of ops', async () => {
      const s = await fresh();
      await s.commit([{ op: 'create', kind: 'vm', id: 'a', data: 1 }, { op: 'create', kind: 'vm', id: 'b', data: 2 }]);
      const rev = await s.commit([{ op: 'put', kind: 'host', id: 'h', data: {} }]);
      expect(rev).toBe(2);
      expect(await s.revision()).toBe(2);
      expect((await s.get('vm', 'b'))?.rev).toBe(1);
      expect((await s.get('host', 'h'))?.rev).toBe(2);
    });

    it('an empty commit changes nothing', async () => {
      const s = await fresh();
      await s.commit([{ op: 'create', kind: 'vm', id: 'a', data: 1 }]);
      expect(await s.commit([])).toBe(1);
      expect(await s.revision()).toBe(1);
    });

    it('refuses to create an object that exists', async () => {
      const s = await fresh();
      await s.commit([{ op: 'create', kind: 'vm', id: 'a', data: 1 }]);
      await expect(s.commit([{ op: 'create', kind: 'vm', id: 'a', data: 2 }])).rejects.toBeInstanceOf(StoreConflictError);
      expect((await s.get('vm', 'a'))?.data).toBe(1);
    });

    it('keeps kinds apart', async () => {
      const s = await fresh();
      await s.commit([{ op: 'create', kind: 'vm', id: 'a', data: 'vm' }, { op: 'create', kind: 'host', id: 'a', data: 'host' }]);
      expect((await s.get('vm', 'a'))?.data).toBe('vm');
      expect((await s.list('host')).map((o) => o.data)).toEqual(['host']);
    });

    it('is all-or-nothing: a failing op undoes the ops before it', async () => {
      const s = await fresh();
      await s.commit([{ op: 'create', kind: 'vm', id: 'taken', data: 0 }]);
      const commit = s.commit([
        { op: 'create', kind: 'vm', id: 'new', data: 1 },
        { op: 'put', kind: 'vm', id: 'taken', data: 'changed' },
        { op: 'create', kind: 'vm', id: 'taken', data: 2 },
      ]);
      await expect(commit).rejects.toBeInstanceOf(StoreConflictError);
      expect(await s.get('vm', 'new')).toBeUndefined();
      expect((await s.get('vm', 'taken'))?.data).toBe(0);
      expect(await s.revision()).toBe(1);
    });

    it('compare-and-swap: put with expectRev succeeds only at that revision', async () => {
      const s = await fresh();
      await s.commit([{ op: 'create', kind: 'vm', id: 'a', data: 1 }]);
      await s.commit([{ op: 'put', kind: 'vm', id: 'a', data: 2, expectRev: 1 }]);
      await expect(s.commit([{ op: 'put', kind: 'vm', id: 'a', data: 3, expectRev: 1 }])).rejects.toBeInstanceOf(StoreConflictError);
      await expect(s.commit([{ op: 'put', kind: 'vm', id: 'missing', data: 3, expectRev: 1 }])).rejects.toBeInstanceOf(StoreConflictError);
      expect(await s.get('vm', 'a')).toMatchObject({ rev: 2, data: 2 });
    });

    it('put without expectRev creates or replaces', async () => {
      const s = await fresh();
      await s.commit([{ op: 'put', kind: 'vm', id: 'a', data: 1 }]);
      await s.commit([{ op: 'put', kind: 'vm', id: 'a', data: 2 }]);
      expect(await s.get('vm', 'a')).toMatchObject({ rev: 2, data: 2 });
    });

    it('deletes; a missing object is a no-op unless expectRev is given', async () => {
      const s = await fresh();
      await s.commit([{ op: 'create', kind: 'vm', id: 'a', data: 1 }]);
      await expect(s.commit([{ op: 'delete', kind: 'vm', id: 'a', expectRev: 7 }])).rejects.toBeInstanceOf(StoreConflictError);
      await s.commit([{ op: 'delete', kind: 'vm', id: 'a', expectRev: 1 }]);
      expect(await s.get('vm', 'a')).toBeUndefined();
      await s.commit([{ op: 'delete', kind: 'vm', id: 'a' }]);
      await expect(s.commit([{ op: 'delete', kind: 'vm', id: 'a', expectRev: 1 }])).rejects.toBeInstanceOf(StoreConflictError);
      // A deleted object can be created again.
      await s.commit([{ op: 'create', kind: 'vm', id: 'a', data: 'again' }]);
      expect((await s.get('vm', 'a'))?.data).toBe('again');
    });

    it('lists ordered by id, with after and limit for paging', async () => {
      const s = await fresh();
      const ids = ['c', 'a', 'e', 'b', 'd'];
      await s.commit(ids.map((id) => ({ op: 'create' as const, kind: 'job', id, data: id })));
      expect((await s.list('job')).map((o) => o.id)).toEqual(['a', 'b', 'c', 'd', 'e']);
      expect((await s.list('job', { limit: 2 })).map((o) => o.id)).toEqual(['a', 'b']);
      expect((await s.list('job', { after: 'b', limit: 2 })).map((o) => o.id)).toEqual(['c', 'd']);
      expect((await s.list('job', { after: 'e' })).map((o) => o.id)).toEqual([]);
    });

    it('concurrent compare-and-swap writers: exactly one wins', async () => {
      const s = await fresh();
      await s.commit([{ op: 'create', kind: 'vm', id: 'a', data: 0 }]);
      const results = await Promise.allSettled([1, 2, 3].map((n) => s.commit([{ op: 'put', kind: 'vm', id: 'a', data: n, expectRev: 1 }])));
      expect(results.filter((r) => r.status === 'fulfilled').length).toBe(1);
    });
  });
}
