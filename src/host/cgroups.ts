// Per-VM CPU and memory limits through cgroups, v1 (one hierarchy per
// controller) or v2 (the unified hierarchy). Each VM gets a group
// <parent>/drover/vm-<id> in every hierarchy that holds cpu, memory (and, on
// v1, cpuacct for its usage counter), and QEMU's pid is moved into it; a VM
// of a resource pool with CPU shares goes one level down, to
// <parent>/drover/pool-<name>/vm-<id> (cgroup-pools.ts).
// applyVmLimits writes the whole desired state each time: a limit left out is
// reset to unlimited, so calling it again is how limits change live.
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { CgroupError, checkVmId, limitsFromV1, limitsFromV2, statField, v1Files, v2Files, validateVmLimits, type LimitsInForce, type VmLimits } from './cgroup-limits.js';
import { poolDirName, poolDirOf, poolWeightFile, removePoolDirIfEmpty, type PoolGroup } from './cgroup-pools.js';

export * from './cgroup-limits.js';
export type { PoolGroup } from './cgroup-pools.js';

const MiB = 1024 ** 2;

export interface CgroupLayout {
  version: 1 | 2;
  /** The directory that holds `group`, per controller (on v2 all the same; cpuacct only on v1 when mounted). */
  parents: { cpu: string; memory: string; cpuacct?: string };
  /** The group that holds the per-VM groups: 'drover' (tests use their own). */
  group: string;
}

export type CgroupDetection = { layout: CgroupLayout; reason?: undefined } | { layout: null; reason: string };

export interface DetectOptions {
  /**
   * Where `group` goes: at the hierarchy's root (default; VMs then outlive
   * the agent's own cgroup, e.g. a restart of its systemd unit), or below
   * the cgroup this process is in ('own': delegated subtrees, tests).
   */
  placement?: 'root' | 'own';
  group?: string;
  /** Stands for /proc/self (its mountinfo and cgroup files); tests pass a fake one. */
  procSelf?: string;
}

interface Mount {
  root: string;
  point: string;
  fsType: string;
  superOptions: string[];
}

/** The cgroup mounts of a /proc/PID/mountinfo text (fields per proc(5); octal escapes such as \040 decoded). */
export function parseMountinfo(text: string): Mount[] {
  const unescape = (s: string) => s.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8)));
  const mounts: Mount[] = [];
  for (const line of text.split('\n')) {
    const [left, right] = line.split(' - ');
    if (!left || !right) continue;
    const f = left.split(' ');
    const [fsType, , superOptions = ''] = right.split(' ');
    if (fsType !== 'cgroup' && fsType !== 'cgroup2') continue;
    mounts.push({ root: unescape(f[3] ?? '/'), point: unescape(f[4] ?? ''), fsType, superOptions: superOptions.split(',') });
  }
  return mounts;
}

/** Which cgroup version and directories this host offers for VM limits, or why none. */
export function detectCgroups(root = '/sys/fs/cgroup', opts: DetectOptions = {}): CgroupDetection {
  const procSelf = opts.procSelf ?? '/proc/self';
  let mounts: Mount[];
  let ownCgroups = '';
  try {
    mounts = parseMountinfo(readText(path.join(procSelf, 'mountinfo'))).filter((m) => m.point === root || m.point.startsWith(`${root}/`));
    if (opts.placement === 'own') ownCgroups = readText(path.join(procSelf, 'cgroup'));
  } catch (err) {
    return { layout: null, reason: `cannot read ${procSelf}: ${(err as Error).message}` };
  }
  const chosen = chooseMounts(mounts);
  if (typeof chosen === 'string') return { layout: null, reason: `no cgroup hierarchy under ${root} has the cpu and memory controllers (${chosen})` };
  const version = chosen.cpu.fsType === 'cgroup2' ? 2 : 1;
  const parentOf = (c: string, m: Mount) => (opts.placement === 'own' ? path.resolve(m.point, `.${ownPath(ownCgroups, version, c, m)}`) : m.point);
  const parents = {
    cpu: parentOf('cpu', chosen.cpu),
    memory: parentOf('memory', chosen.memory),
    ...(chosen.cpuacct ? { cpuacct: parentOf('cpuacct', chosen.cpuacct) } : {}),
  };
  for (const dir of new Set(Object.values(parents))) {
    try {
      fs.accessSync(dir, fs.constants.W_OK);
    } catch (err) {
      return { layout: null, reason: `cannot write ${dir} (${(err as NodeJS.ErrnoException).code}): VM limits need root and a read-write cgroup mount` };
    }
  }
  return { layout: { version, parents, group: opts.group ?? 'drover' } };
}

const readText = (file: string) => fs.readFileSync(file, 'utf8');

/** v1 mounts of cpu and memory (and cpuacct) when both are there; else a cgroup2 mount that offers both; else what is missing. */
function chooseMounts(mounts: Mount[]): { cpu: Mount; memory: Mount; cpuacct?: Mount } | string {
  const v1 = (c: string) => mounts.find((m) => m.fsType === 'cgroup' && m.superOptions.includes(c));
  const [cpu, memory, cpuacct] = [v1('cpu'), v1('memory'), v1('cpuacct')];
  if (cpu && memory) return { cpu, memory, ...(cpuacct ? { cpuacct } : {}) };
  // Hybrid hosts mount cgroup2 below the v1 hierarchies: prefer the topmost one that offers both.
  const v2 = mounts
    .filter((m) => m.fsType === 'cgroup2')
    .sort((a, b) => a.point.length - b.point.length)
    .find((m) => hasV2Controllers(m.point));
  if (v2) return { cpu: v2, memory: v2 };
  return `v1: cpu ${cpu ? 'mounted' : 'missing'}, memory ${memory ? 'mounted' : 'missing'}; no cgroup2 mount offers both`;
}

function hasV2Controllers(dir: string): boolean {
  try {
    const have = readText(path.join(dir, 'cgroup.controllers')).split(/\s+/);
    return have.includes('cpu') && have.includes('memory');
  } catch {
    return false;
  }
}

/** This process's group in mount m, relative to the mount: /proc/self/cgroup lines are "ID:CONTROLLERS:PATH" (v2: "0::PATH"). */
function ownPath(procCgroup: string, version: 1 | 2, controller: string, m: Mount): string {
  const lines = procCgroup.split('\n');
  const line = lines.find((l) => (version === 2 ? l.startsWith('0::') : (l.split(':')[1] ?? '').split(',').includes(controller)));
  const own = line?.split(':').slice(2).join(':') ?? '/';
  // When the mount shows a subtree (its root is not /), PATH still starts at the hierarchy's root.
  return m.root !== '/' && own.startsWith(m.root) ? own.slice(m.root.length) || '/' : own;
}

/** The VM's group directories (below its pool's group when it has one): cpu, memory and (v1, when mounted) cpuacct; equal paths on v2. */
export function vmCgroupDirs(layout: CgroupLayout, vmId: string, pool?: string): { cpu: string; memory: string; cpuacct?: string } {
  checkVmId(vmId);
  const level = pool === undefined ? [] : [poolDirName(pool)];
  const at = (parent: string) => path.join(parent, layout.group, ...level, `vm-${vmId}`);
  const { cpu, memory, cpuacct } = layout.parents;
  return { cpu: at(cpu), memory: at(memory), ...(cpuacct ? { cpuacct: at(cpuacct) } : {}) };
}

/**
 * Creates the VM's groups, writes limits (all of them: left-out ones become
 * unlimited) and moves pid, with all its threads, into them. Memory QEMU had
 * charged before the move stays with its old group, so call this right after
 * QEMU starts, before the guest touches its RAM.
 */
export async function applyVmLimits(layout: CgroupLayout, vmId: string, pid: number, limits: VmLimits, pool?: PoolGroup): Promise<void> {
  validateVmLimits(limits);
  if (!Number.isInteger(pid) || pid <= 0) throw new CgroupError(`pid: must be a positive integer, not ${pid}`, 'pid');
  const dirs = vmCgroupDirs(layout, vmId, pool?.name);
  const weight = pool ? poolWeightFile(layout.version, pool.cpuWeight) : undefined;
  await refuseShrinkBelowUsage(layout, dirs.memory, limits);
  if (layout.version === 2) {
    const parent = layout.parents.cpu;
    await enableControllers(parent);
    await fsp.mkdir(path.join(parent, layout.group), { recursive: true });
    await enableControllers(path.join(parent, layout.group));
    if (weight) {
      await fsp.mkdir(poolDirOf(dirs.cpu), { recursive: true });
      await enableControllers(poolDirOf(dirs.cpu));
      await writeControl(poolDirOf(dirs.cpu), ...weight);
    }
    await fsp.mkdir(dirs.cpu, { recursive: true });
    for (const [file, value] of v2Files(limits)) await writeControl(dirs.cpu, file, value);
  } else {
    const files = v1Files(limits);
    for (const dir of new Set(Object.values(dirs))) await fsp.mkdir(dir, { recursive: true });
    if (weight) await writeControl(poolDirOf(dirs.cpu), ...weight);
    for (const [file, value] of files.cpu) await writeControl(dirs.cpu, file, value);
    for (const [file, value] of files.memory) await writeControl(dirs.memory, file, value);
  }
  // cgroup.procs moves the whole process (v1's `tasks` would move one thread).
  for (const dir of new Set(Object.values(dirs))) await writeControl(dir, 'cgroup.procs', String(pid));
}

// Lowering memory below what the group holds makes v1 fail with EBUSY and v2
// reclaim, then OOM-kill QEMU: refuse up front and leave the VM as it was.
async function refuseShrinkBelowUsage(layout: CgroupLayout, memoryDir: string, limits: VmLimits): Promise<void> {
  if (limits.memoryLimitMiB === undefined) return;
  const usage = await readNumber(path.join(memoryDir, layout.version === 2 ? 'memory.current' : 'memory.usage_in_bytes'));
  if (usage !== null && usage > limits.memoryLimitMiB * MiB) {
    const now = Math.ceil(usage / MiB);
    throw new CgroupError(`memoryLimitMiB: ${limits.memoryLimitMiB} is below what the VM uses now (${now} MiB); give at least ${now}, or shrink the guest first (balloon)`, 'memoryLimitMiB');
  }
}

/** v2: a group's children get cpu and memory only when its cgroup.subtree_control lists them. */
async function enableControllers(dir: string): Promise<void> {
  const enabled = (await fsp.readFile(path.join(dir, 'cgroup.subtree_control'), 'utf8').catch(() => '')).split(/\s+/);
  const missing = ['cpu', 'memory'].filter((c) => !enabled.includes(c));
  if (missing.length > 0) await writeControl(dir, 'cgroup.subtree_control', missing.map((c) => `+${c}`).join(' '));
}

async function writeControl(dir: string, file: string, value: string): Promise<void> {
  try {
    await fsp.writeFile(path.join(dir, file), value);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const hint =
      code === 'ESRCH' ? ': the process is gone'
      : code === 'EBUSY' && file === 'cgroup.subtree_control' ? ': on cgroup v2 a group with processes of its own cannot pass controllers down; place Drover\'s group where no process runs'
      : '';
    throw new CgroupError(`cannot write "${value}" to ${path.join(dir, file)} (${code ?? (err as Error).message})${hint}`);
  }
}

export interface VmCgroupState {
  limits: LimitsInForce;
  /** Processes in the VM's group (its cpu group). */
  pids: number[];
  usage: {
    /** CPU time used by the group, ns; null when the hierarchy has no counter (v1 without cpuacct). */
    cpuNs: number | null;
    /** Time the group was held back by its CPU cap, ns; null when unknown. */
    throttledNs: number | null;
    memoryBytes: number;
  };
}

/** The limits in force and the usage of the VM's group; null when it has none. */
export async function readVmCgroup(layout: CgroupLayout, vmId: string, pool?: string): Promise<VmCgroupState | null> {
  const dirs = vmCgroupDirs(layout, vmId, pool);
  if (!fs.existsSync(dirs.cpu)) return null;
  const read = async (dir: string, ...files: string[]) => Promise.all(files.map((f) => fsp.readFile(path.join(dir, f), 'utf8')));
  const [procs = ''] = await read(dirs.cpu, 'cgroup.procs');
  const cpuStat = await fsp.readFile(path.join(dirs.cpu, 'cpu.stat'), 'utf8').catch(() => '');
  const pids = procs.split('\n').filter(Boolean).map(Number);
  if (layout.version === 2) {
    const [weight = '', max = '', memoryMax = '', current = ''] = await read(dirs.cpu, 'cpu.weight', 'cpu.max', 'memory.max', 'memory.current');
    return {
      limits: limitsFromV2({ weight, max, memoryMax }),
      pids,
      usage: { cpuNs: ns(statField(cpuStat, 'usage_usec')), throttledNs: ns(statField(cpuStat, 'throttled_usec')), memoryBytes: Number(current) },
    };
  }
  const [shares = '', quotaUs = '', periodUs = ''] = await read(dirs.cpu, 'cpu.shares', 'cpu.cfs_quota_us', 'cpu.cfs_period_us');
  const [memoryLimitBytes = '', current = ''] = await read(dirs.memory, 'memory.limit_in_bytes', 'memory.usage_in_bytes');
  // cpuacct.usage is in ns; where cpuacct is co-mounted with cpu it sits in the cpu group. v1's cpu.stat
  // has no usage of its own on most kernels, so without cpuacct the usage is unknown.
  const cpuNs = (await readNumber(path.join(dirs.cpuacct ?? dirs.cpu, 'cpuacct.usage'))) ?? ns(statField(cpuStat, 'usage_usec'));
  return {
    limits: limitsFromV1({ shares, quotaUs, periodUs, memoryLimitBytes }),
    pids,
    usage: { cpuNs, throttledNs: statField(cpuStat, 'throttled_time'), memoryBytes: Number(current) },
  };
}

const ns = (usec: number | null) => (usec === null ? null : usec * 1000);

async function readNumber(file: string): Promise<number | null> {
  const text = await fsp.readFile(file, 'utf8').catch(() => null);
  return text === null || text.trim() === '' ? null : Number(text.trim());
}

export interface RemoveOptions {
  /** Move processes still in the group to the group's parent (out of all limits) instead of failing. */
  evict?: boolean;
}

/**
 * Removes the VM's groups, once QEMU has exited. Groups that still hold
 * processes fail with their pids, unless `evict`. A missing group is fine.
 */
export async function removeVmCgroup(layout: CgroupLayout, vmId: string, opts: RemoveOptions = {}, pool?: string): Promise<void> {
  const dirs = vmCgroupDirs(layout, vmId, pool);
  // Where cpu and cpuacct share a hierarchy, their groups are one directory.
  const byDir = new Map((['cpu', 'memory', 'cpuacct'] as const).flatMap((c) => (dirs[c] && layout.parents[c] ? [[dirs[c], layout.parents[c]] as const] : [])));
  const groups = [...byDir].filter(([dir]) => fs.existsSync(dir)).map(([dir, parent]) => ({ dir, parent, pids: readText(path.join(dir, 'cgroup.procs')).split('\n').filter(Boolean) }));
  const left = [...new Set(groups.flatMap((g) => g.pids))];
  if (left.length > 0 && !opts.evict) throw new CgroupError(`cannot remove the cgroups of VM ${vmId}: processes ${left.join(', ')} are still in them (stop the VM first)`);
  for (const g of groups) {
    for (const pid of g.pids) await writeControl(g.parent, 'cgroup.procs', pid).catch(ignoreGone);
    await rmdirWhenEmpty(g.dir);
    if (pool !== undefined) await removePoolDirIfEmpty(poolDirOf(g.dir));
  }
}

function ignoreGone(err: Error): void {
  if (!/ESRCH/.test(err.message)) throw err;
}

// A process that just exited can keep its group busy for a moment.
async function rmdirWhenEmpty(dir: string): Promise<void> {
  for (let attempt = 0; ; attempt++) {
    try {
      await fsp.rmdir(dir);
      return;
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ENOENT') return;
      if (code !== 'EBUSY' || attempt >= 20) throw new CgroupError(`cannot remove ${dir} (${code ?? (err as Error).message})`);
      await sleep(50);
    }
  }
}
