import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { LeaseWatch, leaseFile } from './lease-watch.js';

describe('LeaseWatch', () => {
  const dir = mkdtempSync(join(tmpdir(), 'drover-leases-'));
  mkdirSync(join(dir, 'leases'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  let now = 1000;
  const write = (hostId: string, seq: number, incarnation = 'a', named = hostId) => writeFileSync(leaseFile(dir, hostId), JSON.stringify({ hostId: named, incarnation, seq, writtenAt: 'whenever' }));

  it('counts how long a record stays unchanged on its own clock, from the read that saw it change to the start of the latest read', async () => {
    const w = new LeaseWatch(dir, () => now);
    expect(w.observe('h1')).toEqual({ seen: false, unchangedMs: 0 });
    await w.poll(['h1']);
    expect(w.observe('h1')).toEqual({ seen: false, unchangedMs: 0 }); // no file: never seen
    write('h1', 1);
    now = 2000;
    await w.poll(['h1']);
    expect(w.observe('h1')).toEqual({ seen: true, unchangedMs: 0 });
    now = 2600;
    await w.poll(['h1']);
    expect(w.observe('h1')).toEqual({ seen: true, unchangedMs: 600 });
    now = 5000; // no read since: the age stays what the last read proved
    expect(w.observe('h1').unchangedMs).toBe(600);
    write('h1', 2);
    await w.poll(['h1']);
    expect(w.observe('h1').unchangedMs).toBe(0);
    write('h1', 2, 'b'); // a new fencer (incarnation) counts as a change even with the same seq
    now = 5300;
    await w.poll(['h1']);
    expect(w.observe('h1').unchangedMs).toBe(0);
    now = 9000;
    await w.poll(['h1']);
    expect(w.observe('h1').unchangedMs).toBe(3700);
    rmSync(leaseFile(dir, 'h1')); // gone: no renewal either
    now = 9500;
    await w.poll(['h1']);
    expect(w.observe('h1')).toEqual({ seen: true, unchangedMs: 4200 });
  });

  it('a failed read or a stall of the controller proves nothing: the age counts again from then', async () => {
    now = 10_000;
    const w = new LeaseWatch(dir, () => now);
    write('h2', 7);
    await w.poll(['h2']);
    now = 11_000;
    writeFileSync(leaseFile(dir, 'h2'), '{not json');
    await w.poll(['h2']);
    expect(w.observe('h2')).toMatchObject({ seen: true, unchangedMs: 0, readError: expect.any(String) });
    write('h2', 7);
    now = 11_500;
    await w.poll(['h2']);
    expect(w.observe('h2')).toEqual({ seen: true, unchangedMs: 500 });
    now = 20_000;
    w.restartBaselines();
    await w.poll(['h2']);
    expect(w.observe('h2')).toEqual({ seen: true, unchangedMs: 0 });
    now = 20_400;
    await w.poll(['h2']);
    expect(w.observe('h2').unchangedMs).toBe(400);
  });

  it('refuses a record that names another host, and reads the pool id', async () => {
    const w = new LeaseWatch(dir, () => now);
    write('h3', 1, 'a', 'h9');
    writeFileSync(join(dir, 'drover-pool-id'), 'pool-x\n');
    await w.poll(['h3']);
    expect(w.observe('h3')).toMatchObject({ seen: false, readError: 'the record names host h9' });
    expect(w.poolId).toBe('pool-x');
  });

  it('counts the controller\'s start as a change: a stale record still needs a full expiry after a restart', async () => {
    write('h4', 3);
    now = 50_000;
    const w = new LeaseWatch(dir, () => now);
    now = 50_100;
    await w.poll(['h4']);
    now = 50_200;
    await w.poll(['h4']);
    expect(w.observe('h4')).toEqual({ seen: true, unchangedMs: 100 });
  });
});

describe('LeaseWatch: changes seen in one poll', () => {
  const dir = mkdtempSync(join(tmpdir(), 'drover-leases-'));
  mkdirSync(join(dir, 'leases'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const write = (hostId: string, seq: number) => writeFileSync(leaseFile(dir, hostId), JSON.stringify({ hostId, incarnation: 'a', seq, writtenAt: 'whenever' }));

  it('count from the same moment, so hosts that stopped renewing together have the same age (they expire in the same tick)', async () => {
    let [now, step] = [0, 0];
    const w = new LeaseWatch(dir, () => (now += ++step)); // every reading of the clock is later, by uneven steps, like reads that end one after the other
    write('a', 1);
    write('b', 1);
    await w.poll(['a', 'b']);
    for (let i = 0; i < 5; i++) await w.poll(['a', 'b']);
    const [a, b] = [w.observe('a'), w.observe('b')];
    expect(a.unchangedMs).toBeGreaterThan(0);
    expect(a).toEqual(b);
  });

  it('changes seen by different polls keep their own moments', async () => {
    let now = 0;
    const w = new LeaseWatch(dir, () => now);
    write('a', 2);
    await w.poll(['a']);
    now = 100;
    write('b', 2);
    await w.poll(['b']);
    now = 300;
    await w.poll(['a', 'b']);
    expect([w.observe('a').unchangedMs, w.observe('b').unchangedMs]).toEqual([300, 200]);
  });
});
