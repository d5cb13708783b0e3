// The heavy steps of a VM's life on this host, for its supervisor
// (converge.ts): spawning its QEMU, deleting it, and noting a QEMU that died
// while the agent was away.
import fs from 'node:fs';
import type { VmAssignment } from '../api/agent-protocol.js';
import { hostNetworkOf, type AgentContext } from './agent-context.js';
import { startFailureMessage } from './decide.js';
import { buildVmSpec } from './qemu-spec.js';
import { vmDir, type VmFile } from './state-files.js';
import { lastRunStderr, VmRuntime } from './vm-runtime.js';
import { findImage, removeVolumes } from './volumes.js';

/**
 * Spawns the VM's QEMU. The epoch is written to the VM's file before the
 * spawn, so at most one QEMU runs per epoch even across agent crashes; a
 * failed start is recorded with QEMU's own words.
 */
export async function startVmQemu(ctx: AgentContext, f: VmFile, a: VmAssignment, incoming: boolean, save: () => void): Promise<VmRuntime> {
  Object.assign(f, { lastStartedEpoch: a.epoch, rebootSeqDone: a.rebootSeq, running: true });
  for (const k of ['stopRequestedAt', 'lastExit', 'startError', 'guestReadyAt', 'qmpReadyAt', 'qemuStartMs'] as const) delete f[k];
  save();
  ctx.changed();
  try {
    const spec = { ...buildVmSpec(a, await findImage(ctx.imagesDir, a.spec.image), ctx.paths, hostNetworkOf(ctx)), incoming };
    const { runtime, qemuStartMs } = await VmRuntime.start(spec, ctx.caps);
    Object.assign(f, { qmpReadyAt: new Date().toISOString(), qemuStartMs });
    ctx.log.child({ vm: f.id }).info({ pid: runtime.pid, epoch: a.epoch, qemuStartMs }, 'QEMU started');
    return runtime;
  } catch (err) {
    const message = startFailureMessage(err as Error & { stderrTail?: string });
    Object.assign(f, { running: false, lastExit: { state: 'crashed', reason: message }, startError: { epoch: a.epoch, message } });
    save();
    throw err;
  }
}

/**
 * Kills the VM's QEMU and deletes its run dir and volumes. `all`: every
 * volume (VM deleted); else only this host's own (released after a
 * migration: shared volumes stay for the new host).
 */
export async function deleteVmFiles(ctx: AgentContext, f: VmFile, runtime: VmRuntime | null, all: boolean): Promise<void> {
  if (runtime) {
    f.stopRequestedAt ??= Date.now();
    await runtime.kill();
    if (!runtime.hasExited) throw new Error(`QEMU ${runtime.pid} did not exit after SIGKILL`);
  }
  const storage = f.assignment.spec.storage ?? 'local';
  if (all || storage === 'local') await removeVolumes(ctx.paths, f.id, storage);
  fs.rmSync(vmDir(ctx.paths, f.id), { recursive: true, force: true });
}

/** After an agent restart no QEMU was found: records how the last one ended. Returns whether the file changed. */
export function noteGoneWhileAway(f: VmFile, dir: string): boolean {
  if (!f.running) return false;
  const stopped = f.stopRequestedAt !== undefined;
  const stderr = lastRunStderr(dir);
  const reason = stopped ? 'stopped on request' : `QEMU exited while the agent was down${stderr ? `; last stderr: ${stderr}` : ''}`;
  f.lastExit = { state: stopped ? 'stopped' : 'crashed', reason };
  f.running = false;
  delete f.stopRequestedAt;
  return true;
}
