import { describe, expect, it } from 'vitest';
import { checkPoolChange, topReservations } from './resource-pool-tree.js';
import { accountPools, admitVm, sharesToWeight, unusedReservations, type Amount, type PoolDef } from './resource-pools.js';

const amt = (cpu: number, memoryMiB: number): Amount => ({ cpu, memoryMiB });
const gold: PoolDef = { name: 'gold', cpu: { reservationCores: 4, limitCores: 8 }, memory: { reservationMiB: 4096, limitMiB: 8192 } };
const prod: PoolDef = { name: 'prod', cpu: { reservationCores: 6 } };
const web: PoolDef = { name: 'web', parent: 'prod', cpu: { reservationCores: 2, limitCores: 3 } };
const db: PoolDef = { name: 'db', parent: 'prod', cpu: { reservationCores: 3 } };

describe('accounting', () => {
  it('sums children into parents, holds the larger of reservation and charge', () => {
    const a = accountPools([prod, web, db], new Map([['web', amt(3, 512)], ['prod', amt(1, 0)]]));
    expect(a.get('web')).toEqual({ use: amt(3, 512), charge: amt(3, 512), held: amt(3, 512) });
    expect(a.get('db')!.held).toEqual(amt(3, 0));
    expect(a.get('prod')).toEqual({ use: amt(4, 512), charge: amt(7, 512), held: amt(7, 512) });
    expect(unusedReservations([prod, web, db], a)).toEqual(amt(3, 0));
  });
  it('maps shares to cgroup weights', () => {
    expect([sharesToWeight('low'), sharesToWeight(undefined), sharesToWeight('high'), sharesToWeight(10), sharesToWeight(100_000)]).toEqual([50, 100, 200, 1, 10_000]);
  });
});

describe('VM admission', () => {
  const pools = [gold, prod, web, db];
  it('lets a VM use its own pool unused reservation, not the others', () => {
    // 12 free cores: gold holds 4 unused, prod 6 unused (web 2, db 3, 1 of prod itself).
    const a = { pools, direct: new Map<string, Amount>(), free: amt(12, 16384) };
    expect(admitVm(a, 'gold', amt(4, 1024), 'starting VM g')).toBeUndefined();
    expect(admitVm(a, undefined, amt(2, 256), 'starting VM x')).toBeUndefined();
    const p = admitVm(a, undefined, amt(3, 256), 'starting VM x');
    expect(p?.field).toBe('resourcePool');
    expect(p?.message).toMatch(/starting VM x would leave 9 cores of CPU free on the Ready hosts, less than the 10 cores that resource pools reserve and do not use \(gold 4 cores, prod 6 cores\)/);
    // web's VM may take web's 2 cores, but not db's.
    expect(admitVm(a, 'web', amt(2, 0), 'w')).toBeUndefined();
    // With only the reservations free: db may take its own 3 and prod's spare 1, not web's 2.
    const tight = { ...a, free: amt(10, 16384) };
    expect(admitVm(tight, 'db', amt(4, 0), 'd')).toBeUndefined();
    expect(admitVm(tight, 'db', amt(5, 0), 'd')?.message).toMatch(/leave 5 cores of CPU free .* less than the 6 cores .*\(gold 4 cores, prod 2 cores\)/);
  });
  it('refuses going over a pool limit or its parent limit', () => {
    const a = { pools: [gold, { ...prod, cpu: { reservationCores: 6, limitCores: 7 } }, web, db], direct: new Map([['web', amt(2, 0)]]), free: amt(100, 100000) };
    expect(admitVm(a, 'web', amt(2, 0), 'starting VM w2')?.message).toMatch(/CPU limit of resource pool web \(3 cores\): its VMs would come to 4 cores \(now 2 cores\)/);
    const b = { ...a, pools: [gold, { ...prod, cpu: { reservationCores: 5, limitCores: 5 } }, { ...web, cpu: { reservationCores: 1 } }, { ...db, cpu: { reservationCores: 2 } }] };
    expect(admitVm(b, 'web', amt(2, 0), 'starting VM w2')?.message).toMatch(/limit of resource pool prod \(5 cores\): its VMs and what its child pools hold would come to 6 cores/);
    expect(admitVm(a, 'gold', amt(1, 8193), 'x')?.message).toMatch(/memory limit of resource pool gold/);
  });
  it('never refuses what does not grow a shortfall that is there already', () => {
    const a = { pools: [gold], direct: new Map([['gold', amt(1, 0)]]), free: amt(1, 0) };
    expect(admitVm(a, 'gold', amt(1, 0), 'x')).toBeUndefined();
  });
});

describe('pool admission', () => {
  const base = { physical: amt(16, 32768), direct: new Map<string, Amount>(), free: amt(64, 32768) };
  const check = (after: PoolDef[], name: string, before = after.filter((p) => p.name !== name)) => checkPoolChange({ ...base, after, before, name });
  it('accepts a sound tree', () => {
    expect(check([gold, prod, web, db], 'db')).toBeUndefined();
    expect(topReservations([gold, prod, web, db])).toEqual(amt(10, 4096));
  });
  it('names the field and the numbers', () => {
    expect(check([{ name: 'x', cpu: { reservationCores: 3, limitCores: 2 } }], 'x')).toMatchObject({ field: 'cpu.reservationCores', message: expect.stringMatching(/reservation \(3 cores\) is above the CPU limit \(2 cores\)/) });
    expect(check([prod, web, { ...db, cpu: { reservationCores: 5 } }], 'db')).toMatchObject({ field: 'cpu.reservationCores', allowed: 'at most 4 cores' });
    expect(check([{ ...prod, cpu: { reservationCores: 4 } }, web, db], 'prod', [prod, web, db])).toMatchObject({ field: 'cpu.reservationCores', allowed: 'at least 5 cores' });
    expect(check([gold, prod, { name: 'c', parent: 'web' }, web], 'c')).toMatchObject({ field: 'parent', message: expect.stringMatching(/one level/) });
    expect(check([{ name: 'c', parent: 'nope' }], 'c')).toMatchObject({ field: 'parent' });
    expect(check([gold, prod, { name: 'big', memory: { reservationMiB: 30000 } }], 'big')).toMatchObject({ field: 'memory.reservationMiB', allowed: 'at most 28672 MiB' });
  });
  it('refuses a reservation the running VMs leave no room for', () => {
    const p = checkPoolChange({ ...base, free: amt(1, 32768), after: [{ name: 'x', cpu: { reservationCores: 2 } }], before: [], name: 'x' });
    expect(p).toMatchObject({ field: 'cpu.reservationCores', message: expect.stringMatching(/leave 1 core of CPU free/) });
  });
});
