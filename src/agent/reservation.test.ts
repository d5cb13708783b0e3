import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { parseReservation, ReservationError } from './reservation.js';

const HOST = { cpus: 4, memoryMiB: 8192 };
const refusal = (flags: Parameters<typeof parseReservation>[0]) => {
  try {
    parseReservation(flags, HOST);
  } catch (err) {
    return err;
  }
  throw new Error('accepted');
};

describe('agent flags --reserve-cpus and --reserve-memory', () => {
  it('reserve nothing when not given', () => {
    expect(parseReservation({}, HOST)).toEqual({ cpus: 0, memoryMiB: 0 });
    expect(parseReservation({ reserveCpus: '0', reserveMemory: '0' }, HOST)).toEqual({ cpus: 0, memoryMiB: 0 });
  });

  it('take whole numbers below the host total', () => {
    expect(parseReservation({ reserveCpus: '1', reserveMemory: '2048' }, HOST)).toEqual({ cpus: 1, memoryMiB: 2048 });
    expect(parseReservation({ reserveCpus: '3', reserveMemory: '8191' }, HOST)).toEqual({ cpus: 3, memoryMiB: 8191 });
  });

  const bad: Array<{ flags: Parameters<typeof parseReservation>[0]; flag: string; message: RegExp }> = [
    { flags: { reserveMemory: '-1' }, flag: '--reserve-memory', message: /^--reserve-memory must be a whole number of MiB from 0 to 8191 \(this host has 8192 MiB\); got "-1"$/ },
    { flags: { reserveMemory: '1.5' }, flag: '--reserve-memory', message: /must be a whole number of MiB/ },
    { flags: { reserveMemory: '2G' }, flag: '--reserve-memory', message: /got "2G"/ },
    { flags: { reserveMemory: '' }, flag: '--reserve-memory', message: /got ""/ },
    { flags: { reserveMemory: '8192' }, flag: '--reserve-memory', message: /^--reserve-memory 8192 leaves nothing for VMs: it must be a whole number of MiB from 0 to 8191/ },
    { flags: { reserveMemory: '99999999999999999999' }, flag: '--reserve-memory', message: /must be a whole number/ },
    { flags: { reserveCpus: 'two' }, flag: '--reserve-cpus', message: /^--reserve-cpus must be a whole number of CPUs from 0 to 3 \(this host has 4 CPUs\); got "two"$/ },
    { flags: { reserveCpus: '4' }, flag: '--reserve-cpus', message: /^--reserve-cpus 4 leaves nothing for VMs/ },
    { flags: { reserveCpus: '1', reserveMemory: '9000' }, flag: '--reserve-memory', message: /--reserve-memory 9000/ },
  ];
  for (const b of bad) {
    it(`refuse ${JSON.stringify(b.flags)}, naming ${b.flag} and what is allowed`, () => {
      const err = refusal(b.flags);
      expect(err).toBeInstanceOf(ReservationError);
      expect(err).toMatchObject({ flag: b.flag, message: expect.stringMatching(b.message) });
    });
  }
});

describe('the agent with a bad reservation', () => {
  it('refuses to start, naming the flag and what is allowed', () => {
    const main = new URL('./main.ts', import.meta.url).pathname;
    const r = spawnSync(process.execPath, ['--import', 'tsx', main, '--controller', 'http://127.0.0.1:9', '--name', 'h1', '--reserve-memory', '999999999'], { cwd: new URL('../..', import.meta.url).pathname, encoding: 'utf8', timeout: 30_000 });
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/^error: --reserve-memory 999999999 leaves nothing for VMs: it must be a whole number of MiB from 0 to \d+ \(this host has \d+ MiB\)\n$/);
    expect(r.stdout).toBe('');
  });
});
