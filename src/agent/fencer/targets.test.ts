import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { parseStartTicks, procStartTicks, readTargets, resolveTargets, writeTargets } from './targets.js';

describe('fence targets', () => {
  let dir: string;
  beforeEach(() => (dir = fs.mkdtempSync(path.join(os.tmpdir(), 'drover-targets-'))));
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('reads the start time of a /proc stat line whose command name holds spaces and parentheses', () => {
    const fields = Array.from({ length: 50 }, (_, i) => String(i + 3)); // fields 3.. of the line
    fields[0] = 'S';
    fields[19] = '987654'; // field 22
    expect(parseStartTicks(`1234 (qemu (x) y) ${fields.join(' ')}`)).toBe(987654);
    expect(parseStartTicks('garbage')).toBeNull();
    expect(procStartTicks(process.pid)).toBeGreaterThan(0);
    expect(procStartTicks(2 ** 22 + 1)).toBeNull();
  });

  it('round-trips the list and drops entries it cannot use', () => {
    const file = path.join(dir, 'fence-targets.json');
    expect(readTargets(file)).toEqual([]);
    writeTargets(file, [{ vmId: 'a', pid: 10, startTimeTicks: 5, runDir: '/x' }]);
    expect(readTargets(file)).toEqual([{ vmId: 'a', pid: 10, startTimeTicks: 5, runDir: '/x' }]);
    fs.writeFileSync(file, JSON.stringify([{ vmId: 'a', pid: -1 }, { pid: 3 }, 'x', { vmId: 'b', pid: 3.5 }, { vmId: 'c' }]));
    expect(readTargets(file)).toEqual([{ vmId: 'c' }]);
    fs.writeFileSync(file, '{not json');
    expect(readTargets(file)).toEqual([]);
  });

  it('kills a live pid only with its recorded start time', () => {
    const ticks = procStartTicks(process.pid) as number;
    expect(resolveTargets([{ vmId: 'me', pid: process.pid, startTimeTicks: ticks }]).kill).toEqual([{ vmId: 'me', pid: process.pid }]);
    const other = resolveTargets([{ vmId: 'me', pid: process.pid, startTimeTicks: ticks + 1 }]);
    expect(other.kill).toEqual([]);
    expect(other.refused[0]?.why).toMatch(/pid reused/);
    expect(resolveTargets([{ vmId: 'me', pid: process.pid }]).refused[0]?.why).toBe('no start time recorded');
    // Not a QEMU of that run dir: nothing to kill.
    fs.writeFileSync(path.join(dir, 'qemu.pid'), `${process.pid}\n`);
    expect(resolveTargets([{ vmId: 'me', runDir: dir }])).toEqual({ kill: [], refused: [] });
  });
});
