// Keeps a running VM's plugged vCPUs and memory at what its assignment asks
// (drover vm resize changes spec.cpus and spec.memoryMiB), and reports what
// is plugged now. A removal the guest has not carried out yet is asked again
// only after a while: device_del is a request to the guest, not an order.
import type { Logger } from 'pino';
import type { LiveSizeReport } from '../api/agent-protocol.js';
import type { VmAssignment } from '../api/agent-protocol.js';
import { applySize, readLiveSize, type LiveSize } from '../qemu/live-size.js';
import type { QmpClient } from '../qemu/qmp-client.js';

const ASK_AGAIN_MS = 10_000;

type Size = { cpus: number; memoryMiB: number };
/** Plugged memory unchanged this long while short of the requested size counts as stalled. */
export const MEMORY_STALL_MS = 10_000;

export class VmSizer {
  private error: string | undefined;
  /** The size last asked of QEMU and when: the same request is not repeated before ASK_AGAIN_MS. */
  private asked: { key: string; at: number } | null = null;
  /** The plugged memory last seen and since when it has not changed. */
  private plugged: { memoryMiB: number; requestedMiB: number; since: number } | null = null;
  private watching: NodeJS.Timeout | null = null;

  constructor(
    private readonly log: Logger,
    private readonly cpuModel: string,
    /** False without KVM: QEMU 7.2 TCG crashes when a vCPU is added after one was removed, so none is removed. */
    private readonly cpuUnplug: boolean,
  ) {}

  /** What is plugged now, with the last error; undefined when QEMU does not answer. */
  async report(qmp: QmpClient, now = Date.now()): Promise<LiveSizeReport | undefined> {
    const live = await readLiveSize(qmp).catch(() => undefined);
    if (!live) return undefined;
    const p = this.plugged;
    if (!p || p.memoryMiB !== live.memoryMiB || p.requestedMiB !== live.requestedMemoryMiB) this.plugged = { memoryMiB: live.memoryMiB, requestedMiB: live.requestedMemoryMiB, since: now };
    const stalled = live.virtioMem && live.memoryMiB !== live.requestedMemoryMiB && now - (this.plugged?.since ?? now) >= MEMORY_STALL_MS;
    return {
      cpus: live.cpus,
      memoryMiB: live.memoryMiB,
      ...(live.virtioMem ? { requestedMemoryMiB: live.requestedMemoryMiB } : {}),
      ...(stalled ? { memoryStalled: true } : {}),
      ...(this.error ? { error: this.error } : {}),
    };
  }

  /** Sends the QMP commands that take the live size towards the assignment's; returns the live size read first. */
  async reconcile(qmp: QmpClient, a: VmAssignment, now = Date.now()): Promise<LiveSize | undefined> {
    const want = { cpus: a.spec.cpus, memoryMiB: a.spec.memoryMiB };
    const live = await readLiveSize(qmp);
    const cpusDone = live.cpus === want.cpus;
    const memoryDone = !live.virtioMem ? live.memoryMiB === want.memoryMiB : live.requestedMemoryMiB === want.memoryMiB;
    if (cpusDone && memoryDone) {
      this.error = undefined;
      return live;
    }
    const key = `${want.cpus}/${want.memoryMiB}`;
    if (this.asked?.key === key && now - this.asked.at < ASK_AGAIN_MS) return live;
    this.asked = { key, at: now };
    try {
      if (want.cpus < live.cpus && !this.cpuUnplug) throw new Error('vCPUs are not removed from a running guest on a host without KVM (QEMU crashes when one is added again); stop the VM to take them away');
      const change = await applySize(qmp, this.cpuModel, live, want);
      this.error = undefined;
      if (change.sent.length) this.log.info({ from: { cpus: live.cpus, memoryMiB: live.requestedMemoryMiB }, to: want, sent: change.sent }, 'resizing');
    } catch (err) {
      this.error = `cannot resize to ${want.cpus} vCPUs and ${want.memoryMiB} MiB: ${(err as Error).message}`;
      this.log.warn(this.error);
    }
    return live;
  }

  /**
   * Reports every 500 ms (at most a minute) while the guest takes up a resize
   * (it plugs memory and onlines vCPUs over seconds), so the controller sees
   * it at once. Ends when the size is plugged, the QEMU is gone or the wanted
   * size changed.
   */
  watch(want: Size, vm: { qmp(): QmpClient | null; wanted(): Size; changed(): void }): void {
    if (this.watching) return;
    const until = Date.now() + 60_000;
    this.watching = setInterval(() => {
      const qmp = vm.qmp();
      const now = vm.wanted();
      if (!qmp || Date.now() > until || now.cpus !== want.cpus || now.memoryMiB !== want.memoryMiB) return this.stopWatch();
      vm.changed();
      void this.report(qmp).then((size) => {
        if (size && size.cpus === want.cpus && size.memoryMiB === want.memoryMiB) this.stopWatch();
      });
    }, 500);
    this.watching.unref();
  }

  stopWatch(): void {
    if (this.watching) clearInterval(this.watching);
    this.watching = null;
  }

  /** A new QEMU starts with the assignment's size: forget what was asked of the old one. */
  reset(): void {
    this.asked = null;
    this.plugged = null;
    this.error = undefined;
  }
}
