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

/** A TAP for a NIC hot-added to a running QEMU: created on the bridge and recorded, so it goes with the others at exit. */
export async function addTap(runDir: string, ifname: string, bridge: string): Promise<void> {
  const file = path.join(runDir, TAPS_FILE);
  const names = fs.existsSync(file) ? fs.readFileSync(file, 'utf8').split('\n').filter(Boolean) : [];
  if (!names.includes(ifname)) fs.writeFileSync(file, [...names, ifname].join('\n') + '\n');
  await ensureTap(ifname, bridge);
}

/** Removes the TAP of a hot-removed NIC (if it has one) and its record. */
export async function dropTap(runDir: string, ifname: string): Promise<void> {
  const file = path.join(runDir, TAPS_FILE);
  if (!fs.existsSync(file)) return;
  const names = fs.readFileSync(file, 'utf8').split('\n').filter(Boolean);
  if (!names.includes(ifname)) return;
  await deleteTap(ifname);
  fs.writeFileSync(file, names.filter((n) => n !== ifname).map((n) => `${n}\n`).join(''));
}
