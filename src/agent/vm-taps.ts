// The TAP devices of a bridged VM's QEMU. The agent creates them on the
// bridge before the spawn (QEMU's sandbox forbids its helper scripts) and
// removes them after QEMU's exit. Their names are kept in the run dir so an
// agent that re-attached after a restart still knows what to remove.
import fs from 'node:fs';
import path from 'node:path';
import { deleteTap, ensureTap } from '../host/network.js';
import type { QemuVmSpec } from '../qemu/vm-spec.js';

const TAPS_FILE = 'taps';

export async function createTaps(spec: QemuVmSpec): Promise<void> {
  const taps = spec.nics.flatMap((n) => (n.mode === 'tap' ? [n] : []));
  if (taps.length === 0) return;
  fs.writeFileSync(path.join(spec.runDir, TAPS_FILE), taps.map((t) => t.ifname).join('\n') + '\n');
  for (const t of taps) await ensureTap(t.ifname, t.bridge);
}

/** Removes the TAPs recorded in runDir (best effort: a missing one is fine). Returns the errors. */
export async function removeTaps(runDir: string): Promise<string[]> {
  const file = path.join(runDir, TAPS_FILE);
  if (!fs.existsSync(file)) return [];
  const names = fs.readFileSync(file, 'utf8').split('\n').filter(Boolean);
  const errors: string[] = [];
  for (const name of names) await deleteTap(name).catch((err: Error) => errors.push(err.message));
  if (errors.length === 0) fs.rmSync(file, { force: true });
  return errors;
}
