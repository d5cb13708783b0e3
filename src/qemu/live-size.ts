// What a running QEMU has plugged now (vCPUs, memory), and the QMP calls
// that bring it to a wanted size (layout in hotplug.ts). Reading is cheap
// enough to do on every report: two QMP round trips.
import { queryHotpluggableCpus } from './commands.js';
import { cpuChangeCommands, memoryChangeCommand, VIRTIO_MEM_PATH } from './hotplug.js';
import type { QmpClient } from './qmp-client.js';

const MiB = 1048576;

export interface LiveSize {
  /** vCPUs plugged (the boot vCPU included). */
  cpus: number;
  /** The fixed memory it booted with. */
  bootMemoryMiB: number;
  /** Whether it has a virtio-mem device (started with room above its boot memory). */
  virtioMem: boolean;
  /** Boot memory plus what virtio-mem has plugged. */
  memoryMiB: number;
  /** What virtio-mem was asked to hold on top of boot memory (the guest plugs towards it). */
  requestedMemoryMiB: number;
  /** Sockets with a vCPU plugged (0 is the boot vCPU). */
  sockets: number[];
  /** The CPU device type this QEMU hot-plugs (e.g. max-x86_64-cpu): it follows the accelerator it was started with. */
  cpuType?: string;
}

/** QAPI MemoryInfo of query-memory-size-summary: boot memory and what memory devices (virtio-mem here) have plugged. */
interface MemorySizeSummary {
  'base-memory': number;
  'plugged-memory'?: number;
}

export async function readLiveSize(qmp: QmpClient, timeoutMs = 2000): Promise<LiveSize> {
  const opts = { timeoutMs };
  const cpus = await queryHotpluggableCpus(qmp, timeoutMs);
  const sockets = cpus.filter((c) => c['qom-path'] !== undefined).map((c) => c.props['socket-id'] ?? 0).sort((a, b) => a - b);
  const memory = await qmp.execute<MemorySizeSummary>('query-memory-size-summary', undefined, opts);
  const boot = Math.round(memory['base-memory'] / MiB);
  const plugged = Math.round((memory['plugged-memory'] ?? 0) / MiB);
  // A QEMU started without room above its boot memory has no virtio-mem device.
  const requested = await qmp.execute<number>('qom-get', { path: VIRTIO_MEM_PATH, property: 'requested-size' }, opts).then((b) => Math.round(b / MiB), () => null);
  const cpuType = cpus[0]?.type;
  return { cpus: sockets.length, bootMemoryMiB: boot, virtioMem: requested !== null, memoryMiB: boot + plugged, requestedMemoryMiB: boot + (requested ?? 0), sockets, ...(cpuType ? { cpuType } : {}) };
}

export interface SizeChange {
  /** QMP commands sent, in order (for the log). */
  sent: string[];
}

/**
 * Sends what takes the live layout towards `want`. vCPUs are added in free
 * sockets and removed from the highest socket down (device_del only asks the
 * guest; the vCPU goes once it has ejected it). Memory sets virtio-mem's
 * requested size; the guest plugs or unplugs blocks towards it.
 */
export async function applySize(qmp: QmpClient, cpuModel: string, live: LiveSize, want: { cpus: number; memoryMiB: number }): Promise<SizeChange> {
  const sent: string[] = [];
  if (want.cpus !== live.cpus) {
    // The running QEMU's own CPU type wins: the host may have switched accelerator since it started.
    const model = live.cpuType?.replace(/-x86_64-cpu$/, '') ?? cpuModel;
    const cmds = want.cpus > live.cpus ? addCpus(model, live.sockets, want.cpus - live.cpus) : removeCpus(live.sockets, live.cpus - want.cpus);
    for (const c of cmds) {
      await qmp.execute(c.execute, c.arguments);
      sent.push(`${c.execute} ${String(c.arguments.id)}`);
    }
  }
  if (want.memoryMiB !== live.requestedMemoryMiB) {
    if (!live.virtioMem) throw new Error(`memory cannot change while it runs: it started without room above its ${live.bootMemoryMiB} MiB (no virtio-mem device)`);
    if (want.memoryMiB < live.bootMemoryMiB) throw new Error(`memory cannot go below the ${live.bootMemoryMiB} MiB it booted with while it runs`);
    const c = memoryChangeCommand(live.bootMemoryMiB, want.memoryMiB);
    await qmp.execute(c.execute, c.arguments);
    sent.push(`virtio-mem requested-size ${want.memoryMiB - live.bootMemoryMiB} MiB`);
  }
  return { sent };
}

function addCpus(model: string, plugged: number[], count: number): ReturnType<typeof cpuChangeCommands> {
  const used = new Set(plugged);
  const cmds: ReturnType<typeof cpuChangeCommands> = [];
  for (let socket = 1; cmds.length < count; socket++) {
    if (!used.has(socket)) cmds.push(...cpuChangeCommands(model, socket, socket + 1));
  }
  return cmds;
}

function removeCpus(plugged: number[], count: number): ReturnType<typeof cpuChangeCommands> {
  const removable = plugged.filter((s) => s > 0).sort((a, b) => b - a).slice(0, count);
  return removable.flatMap((socket) => cpuChangeCommands('unused', socket + 1, socket));
}
