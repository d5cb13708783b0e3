import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { isAlive, killAll, processesMentioning } from './daemons.js';

const dir = mkdtempSync(join(tmpdir(), 'drv-daemons-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('processesMentioning', () => {
  it('finds a process with an argument under the dir, not one whose path merely starts the same, and never this process', async () => {
    const inside = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 30000)', join(dir, 'h1', 'x')]);
    const sibling = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 30000)', `${dir}0/x`]);
    try {
      await new Promise((r) => setTimeout(r, 200));
      const found = processesMentioning(dir);
      expect(found).toContain(inside.pid);
      expect(found).not.toContain(sibling.pid);
      expect(found).not.toContain(process.pid);
      expect(processesMentioning(join(dir, 'h1'))).toEqual([inside.pid]);
      await killAll([inside.pid!]);
      expect(isAlive(inside.pid!)).toBe(false);
    } finally {
      inside.kill('SIGKILL');
      sibling.kill('SIGKILL');
    }
  });
});
