// On start the agent finds its VMs again: every VM dir with a vm.json gets a
// supervisor; a QEMU still running for it is re-attached (QMP, serial), and
// one that is gone is recorded as stopped, or crashed if nobody stopped it.
import type { Logger } from 'pino';
import type { AgentContext } from './agent-context.js';
import { VmSupervisor } from './converge.js';
import { listVmIds, loadVmFile } from './state-files.js';
import { removeRunFiles, VmRuntime } from './vm-runtime.js';

const ATTACH_TRIES = 3;
const ATTACH_RETRY_MS = 1000;

export async function reattachAll(ctx: AgentContext): Promise<VmSupervisor[]> {
  const found: VmSupervisor[] = [];
  for (const id of listVmIds(ctx.paths)) {
    const file = loadVmFile(ctx.paths, id);
    if (!file) {
      ctx.log.warn({ vm: id }, `ignoring VM dir ${id}: its vm.json is unreadable`);
      continue;
    }
    found.push(await reattachOne(ctx, new VmSupervisor(ctx, file)));
  }
  return found;
}

async function reattachOne(ctx: AgentContext, sup: VmSupervisor): Promise<VmSupervisor> {
  const found = await attachWithRetry(sup.dir, ctx.log);
  if (found instanceof VmRuntime) {
    sup.adopt(found);
    await sup.reattachMigration().catch((err: Error) => ctx.log.warn({ vm: sup.id }, `checking its migration after the restart: ${err.message}`));
    ctx.log.info({ vm: sup.id, pid: found.pid, paused: found.paused }, 're-attached to running QEMU');
  } else if (found === 'none') {
    removeRunFiles(sup.dir);
    sup.noteGoneWhileAway();
  } else {
    // Its files stay: a later agent start may reach it.
    sup.noteUnreachable(found.error);
  }
  return sup;
}

/** QMP may be slow to answer a new client right after the old one vanished: try a few times. */
async function attachWithRetry(runDir: string, log: Logger): Promise<VmRuntime | 'none' | { error: string }> {
  for (let i = 1; ; i++) {
    try {
      return (await VmRuntime.attach(runDir)) ?? 'none';
    } catch (err) {
      if (i >= ATTACH_TRIES) {
        const error = `QEMU runs but its QMP does not answer (${(err as Error).message}); the agent left it alone`;
        log.error({ err, runDir }, error);
        return { error };
      }
      await new Promise((r) => setTimeout(r, ATTACH_RETRY_MS));
    }
  }
}
