// A VM's resource controls on this host: its spec.limits applied to its
// running QEMU and read back for the report. CPU and memory go to the VM's
// cgroup (src/host/cgroups.ts), disk I/O to QEMU's throttling of each disk
// (src/qemu/io-throttle.ts). A VM that never had limits is left alone: its
// QEMU stays where it was started. Once limited, a QEMU keeps its group until
// it exits (clearing writes "unlimited"), and the group goes with it. A VM of
// a resource pool with CPU shares (assignment resourcePool) gets a group
// too, below its pool's group (src/host/cgroup-pools.ts); when its pool
// changes it moves to the new pool's group. A host without usable cgroups
// runs the VM anyway and says why in the report.
import type { Logger } from 'pino';
import type { VmAssignment } from '../api/agent-protocol.js';
import type { AppliedLimits } from '../api/limits.js';
import type { VmStats } from '../api/resources.js';
import { cgroupPart, diskLimitsOf, hasDiskLimits } from '../core/resource-controls.js';
import { applyVmLimits, detectCgroups, readVmCgroup, removeVmCgroup, type CgroupDetection, type LimitsInForce } from '../host/cgroups.js';
import { applyDiskThrottle, queryDisks } from '../qemu/io-throttle.js';
import type { VmRuntime } from './vm-runtime.js';

/** Agent flag --cgroups: where VM groups go (src/host/cgroups.ts, DetectOptions.placement), or off. */
export type CgroupMode = 'root' | 'own' | 'off';

/** The host's cgroups for VM limits, detected once at agent start; logs what it found. */
export function hostCgroups(mode: CgroupMode, log: Logger, root = '/sys/fs/cgroup'): CgroupDetection {
  if (mode === 'off') return { layout: null, reason: 'turned off on this host (agent flag --cgroups off)' };
  const found = detectCgroups(root, { placement: mode });
  if (found.layout) log.info({ cgroups: found.layout }, `VM CPU and memory limits: cgroup v${found.layout.version}, groups below ${found.layout.parents.cpu}/${found.layout.group}`);
  else log.warn(`VM CPU and memory limits cannot be applied on this host: ${found.reason}`);
  return found;
}

/** The cgroup's limits as reported: a cap that is not there is left out. */
function inForce(version: 1 | 2, l: LimitsInForce, pool: string | undefined): NonNullable<AppliedLimits['cgroup']> {
  return { version, cpuWeight: l.cpuWeight, ...(pool !== undefined ? { pool } : {}), ...(l.cpuLimitCores !== null ? { cpuLimitCores: l.cpuLimitCores } : {}), ...(l.memoryLimitMiB !== null ? { memoryLimitMiB: l.memoryLimitMiB } : {}) };
}

export interface ReconcileOptions {
  /** QMP may be used (not while the VM migrates: both ends keep their own throttles). */
  qmp: boolean;
}

/** The cgroup adapter (src/host/cgroups.ts); tests pass a fake. */
export interface CgroupOps {
  apply: typeof applyVmLimits;
  read: typeof readVmCgroup;
  remove: typeof removeVmCgroup;
}

const REAL_CGROUPS: CgroupOps = { apply: applyVmLimits, read: readVmCgroup, remove: removeVmCgroup };

export class VmLimiter {
  /** The cgroup limits (and pool group) written for the QEMU of this pid. */
  private applied: { pid: number; json: string; pool?: string } | null = null;
  /** The pool group its cgroup was last made in (kept after a failed apply, to remove the right group). */
  private groupPool: string | undefined;
  /** The QEMU (pid) whose disks got a throttle. */
  private throttledPid: number | null = null;
  /** The QEMU (pid) whose exit is watched, to remove its group and forget its state. */
  private watchedPid: number | null = null;
  private cgroupProblem: string | undefined;
  private diskProblem: string | undefined;
  private queue: Promise<void> = Promise.resolve();

  constructor(
    private readonly vmId: string,
    private readonly cgroups: CgroupDetection,
    private readonly log: Logger,
    private readonly ops: CgroupOps = REAL_CGROUPS,
  ) {}

  /** Brings the running QEMU to the assignment's limits. Never throws: a failure is logged and reported. */
  reconcile(rt: VmRuntime | null, a: VmAssignment, opts: ReconcileOptions): Promise<void> {
    if (!rt || rt.hasExited || (a.power !== 'running' && a.power !== 'paused')) return Promise.resolve();
    return this.serially(async () => {
      this.watch(rt);
      await this.reconcileCgroup(rt, a);
      if (opts.qmp) await this.reconcileDisks(rt, a);
    });
  }

  /** What is in force on the running QEMU (and its cgroup's usage, added to its stats); {} when it has no limits. */
  async report(rt: VmRuntime | null, stats: VmStats | undefined): Promise<{ limits?: AppliedLimits; stats?: VmStats }> {
    if (!rt || rt.hasExited) return {};
    const pool = this.applied?.pool;
    const group = this.applied?.pid === rt.pid && this.cgroups.layout ? await this.ops.read(this.cgroups.layout, this.vmId, pool).catch(() => null) : null;
    const disks = this.throttledPid === rt.pid ? await queryDisks(rt.qmp).catch(() => undefined) : undefined;
    const problems = [this.cgroupProblem, this.diskProblem].filter((p): p is string => p !== undefined);
    const limits: AppliedLimits = {
      ...(group && this.cgroups.layout ? { cgroup: inForce(this.cgroups.layout.version, group.limits, pool) } : {}),
      ...(disks ? { disks: disks.map(({ qdev: _q, ...d }) => d) } : {}),
      ...(problems.length ? { problems } : {}),
    };
    const usage = group && stats ? { ...stats, ...(group.usage.throttledNs !== null ? { cpuThrottledSeconds: group.usage.throttledNs / 1e9 } : {}), cgroupMemoryBytes: group.usage.memoryBytes } : undefined;
    return { ...(Object.keys(limits).length ? { limits } : {}), ...(usage ? { stats: usage } : {}) };
  }

  private async reconcileCgroup(rt: VmRuntime, a: VmAssignment): Promise<void> {
    const want = cgroupPart(a.spec.limits);
    const pool = a.resourcePool;
    const mine = this.applied?.pid === rt.pid;
    if (Object.keys(want).length === 0 && !pool && !mine) {
      this.cgroupProblem = undefined;
      return;
    }
    const layout = this.cgroups.layout;
    if (!layout) return this.problem('cgroup', `CPU and memory limits are not applied: ${this.cgroups.reason}`);
    const json = JSON.stringify({ want, pool });
    if (mine && this.applied?.json === json) return;
    const before = mine ? this.applied?.pool : undefined;
    try {
      this.groupPool = pool?.name;
      await this.ops.apply(layout, this.vmId, rt.pid, want, pool);
    } catch (err) {
      return this.problem('cgroup', `CPU and memory limits are not applied: ${(err as Error).message}`);
    }
    this.applied = { pid: rt.pid, json, ...(pool ? { pool: pool.name } : {}) };
    this.problem('cgroup', undefined);
    this.log.info({ limits: want, pool, pid: rt.pid }, 'cgroup limits applied');
    // Moved to another pool's group: the old group is empty now.
    if (mine && before !== pool?.name) await this.ops.remove(layout, this.vmId, {}, before).catch((err: Error) => this.log.warn({ err }, `cannot remove the VM's old cgroup: ${err.message}`));
  }

  private async reconcileDisks(rt: VmRuntime, a: VmAssignment): Promise<void> {
    if (!hasDiskLimits(a.spec.limits) && this.throttledPid !== rt.pid) {
      this.diskProblem = undefined;
      return;
    }
    try {
      await applyDiskThrottle(rt.qmp, diskLimitsOf(a.spec.limits));
      this.throttledPid = rt.pid;
      this.problem('disk', undefined);
    } catch (err) {
      this.problem('disk', `disk I/O limits are not applied: ${(err as Error).message}`);
    }
  }

  /** Once per QEMU: when it exits, its group goes (a new QEMU gets one again when it starts) and what was known of it is forgotten. */
  private watch(rt: VmRuntime): void {
    if (this.watchedPid === rt.pid) return;
    this.watchedPid = rt.pid;
    rt.once('exit', () => void this.serially(() => this.forget(rt.pid)));
  }

  private async forget(pid: number): Promise<void> {
    if (this.watchedPid !== pid) return;
    const grouped = this.applied !== null || this.cgroupProblem !== undefined;
    const pool = this.groupPool;
    this.watchedPid = this.throttledPid = null;
    this.applied = null;
    this.cgroupProblem = this.diskProblem = undefined;
    // Also after a failed apply: it may have made the group before it failed.
    if (grouped && this.cgroups.layout) await this.ops.remove(this.cgroups.layout, this.vmId, {}, pool).catch((err: Error) => this.log.warn({ err }, `cannot remove the VM's cgroup: ${err.message}`));
  }

  /** Records a problem (undefined: solved), logging each new one once. */
  private problem(kind: 'cgroup' | 'disk', message: string | undefined): void {
    const before = kind === 'cgroup' ? this.cgroupProblem : this.diskProblem;
    if (message && message !== before) this.log.warn(message);
    if (kind === 'cgroup') this.cgroupProblem = message;
    else this.diskProblem = message;
  }

  /** One change at a time: an exit's removal and the next start's apply must not cross. */
  private serially(fn: () => Promise<void>): Promise<void> {
    const next = this.queue.then(fn, fn);
    this.queue = next.catch(() => undefined);
    return next;
  }
}
