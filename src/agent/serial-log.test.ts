import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { BoundedLog, MarkerScanner } from './serial-log.js';
import { runStderrOf } from './vm-runtime.js';

describe('BoundedLog', () => {
  let dir: string;
  beforeEach(() => (dir = fs.mkdtempSync(path.join(os.tmpdir(), 'drover-serial-'))));
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('appends and reads the tail', () => {
    const log = new BoundedLog(path.join(dir, 'serial.log'), 100, 50);
    log.append(Buffer.from('hello '));
    log.append(Buffer.from('world'));
    expect(log.tail(5).toString()).toBe('world');
    expect(log.tail(1000).toString()).toBe('hello world');
    expect(log.bytes).toBe(11);
  });

  it('keeps the last keepBytes once the file grows past maxBytes', () => {
    const file = path.join(dir, 'serial.log');
    const log = new BoundedLog(file, 100, 50);
    for (let i = 0; i < 12; i++) log.append(Buffer.from(String(i % 10).repeat(10)));
    // 120 bytes went in: cut to the last 50 at 110, then 10 more.
    expect(fs.statSync(file).size).toBeLessThanOrEqual(100);
    expect(log.bytes).toBe(fs.statSync(file).size);
    expect(log.tail(10).toString()).toBe('1111111111');
    expect(fs.readFileSync(file, 'utf8').endsWith('0000000000' + '1111111111')).toBe(true);
  });

  it('picks up the size of an existing file (agent restart)', () => {
    const file = path.join(dir, 'serial.log');
    fs.writeFileSync(file, 'x'.repeat(90));
    const log = new BoundedLog(file, 100, 50);
    log.append(Buffer.from('y'.repeat(20)));
    expect(fs.statSync(file).size).toBe(50);
    expect(log.tail(20).toString()).toBe('y'.repeat(20));
  });

  it('reads nothing from a log that does not exist', () => {
    expect(new BoundedLog(path.join(dir, 'none.log')).tail(100).length).toBe(0);
  });
});

describe('MarkerScanner', () => {
  it('finds the marker in one chunk or split over several', () => {
    expect(new MarkerScanner().push('boot...\r\nDROVER-READY boot_id=1\r\n')).toBe(true);
    const s = new MarkerScanner();
    expect(s.push('xxDROV')).toBe(false);
    expect(s.push('ER-RE')).toBe(false);
    expect(s.push(Buffer.from('ADY\n'))).toBe(true);
  });
  it('does not match fragments that never complete', () => {
    const s = new MarkerScanner();
    expect(s.push('DROVER-')).toBe(false);
    expect(s.push('\nREADY')).toBe(false);
  });
  it('finds it again after a reboot', () => {
    const s = new MarkerScanner();
    expect(s.push('DROVER-READY')).toBe(true);
    expect(s.push('...reset...')).toBe(false);
    expect(s.push('DROVER-READY')).toBe(true);
  });
});

describe('runStderrOf', () => {
  it("keeps only the latest run's output", () => {
    const log = '--- drover start T1: qemu a b\nold error\n--- drover start T2: qemu a b\nqemu: new error\n';
    expect(runStderrOf(log)).toBe('qemu: new error');
    expect(runStderrOf('--- drover start T3: qemu')).toBe('');
    expect(runStderrOf('no marker\n')).toBe('no marker');
  });
});
