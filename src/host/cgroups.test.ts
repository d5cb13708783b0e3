import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  type CgroupLayout,
  applyVmLimits,
  detectCgroups,
  limitsFromV1,
  limitsFromV2,
  parseMountinfo,
  readVmCgroup,
  removeVmCgroup,
  v1Files,
  v2Files,
  validateVmLimits,
  vmCgroupDirs,
} from './cgroups.js';

const MiB = 1024 ** 2;

describe('limit validation', () => {
  it('names the field and the allowed range', () => {
    expect(() => validateVmLimits({ cpuLimitCores: 0 })).toThrow('cpuLimitCores: must be between 0.01 and 1024, not 0');
    expect(() => validateVmLimits({ cpuWeight: 0.5 })).toThrow('cpuWeight: must be an integer between 1 and 10000, not 0.5');
    expect(() => validateVmLimits({ memoryLimitMiB: 32 })).toThrow('memoryLimitMiB: must be an integer between 64 and 16777216, not 32');
    expect(() => validateVmLimits({ cpuLimitCores: Number.NaN })).toThrow(/cpuLimitCores/);
    expect(() => validateVmLimits({ cpuWeight: 1, cpuLimitCores: 0.01, memoryLimitMiB: 64 })).not.toThrow();
    expect(() => validateVmLimits({})).not.toThrow();
  });
  it('refuses a VM id that is not a plain name', () => {
    const layout: CgroupLayout = { version: 2, parents: { cpu: '/x', memory: '/x' }, group: 'drover' };
    expect(() => vmCgroupDirs(layout, '../etc')).toThrow(/vmId/);
    expect(vmCgroupDirs(layout, 'a-1').cpu).toBe('/x/drover/vm-a-1');
  });
});

describe('value translation', () => {
  it('writes v1 shares, CFS quota and memory limit, -1 for "no limit"', () => {
    expect(v1Files({})).toEqual({
      cpu: [['cpu.shares', '1024'], ['cpu.cfs_period_us', '100000'], ['cpu.cfs_quota_us', '-1']],
      memory: [['memory.limit_in_bytes', '-1']],
    });
    const f = v1Files({ cpuWeight: 50, cpuLimitCores: 0.5, memoryLimitMiB: 512 });
    expect(f.cpu).toEqual([['cpu.shares', '512'], ['cpu.cfs_period_us', '100000'], ['cpu.cfs_quota_us', '50000']]);
    expect(f.memory).toEqual([['memory.limit_in_bytes', String(512 * MiB)]]);
    expect(v1Files({ cpuWeight: 10_000, cpuLimitCores: 0.01 }).cpu).toEqual([['cpu.shares', '102400'], ['cpu.cfs_period_us', '100000'], ['cpu.cfs_quota_us', '1000']]);
  });
  it('writes v2 cpu.weight, cpu.max and memory.max, "max" for "no limit"', () => {
    expect(v2Files({})).toEqual([['cpu.weight', '100'], ['cpu.max', 'max 100000'], ['memory.max', 'max']]);
    expect(v2Files({ cpuWeight: 300, cpuLimitCores: 1.5, memoryLimitMiB: 1024 })).toEqual([
      ['cpu.weight', '300'],
      ['cpu.max', '150000 100000'],
      ['memory.max', String(1024 * MiB)],
    ]);
  });
  it('reads back every weight it can write, through v1 shares', () => {
    for (let w = 1; w <= 10_000; w++) {
      const shares = v1Files({ cpuWeight: w }).cpu[0]![1];
      expect(limitsFromV1({ shares, quotaUs: '-1', periodUs: '100000', memoryLimitBytes: '9223372036854771712' }).cpuWeight).toBe(w);
    }
  });
  it('reads limits back from the files, unlimited as null', () => {
    expect(limitsFromV1({ shares: '1024\n', quotaUs: '-1\n', periodUs: '100000\n', memoryLimitBytes: '9223372036854771712\n' })).toEqual({ cpuWeight: 100, cpuLimitCores: null, memoryLimitMiB: null });
    expect(limitsFromV1({ shares: '512', quotaUs: '25000', periodUs: '50000', memoryLimitBytes: String(256 * MiB) })).toEqual({ cpuWeight: 50, cpuLimitCores: 0.5, memoryLimitMiB: 256 });
    expect(limitsFromV2({ weight: '100\n', max: 'max 100000\n', memoryMax: 'max\n' })).toEqual({ cpuWeight: 100, cpuLimitCores: null, memoryLimitMiB: null });
    expect(limitsFromV2({ weight: '42', max: '200000 100000', memoryMax: String(2048 * MiB) })).toEqual({ cpuWeight: 42, cpuLimitCores: 2, memoryLimitMiB: 2048 });
  });
});

describe('mountinfo', () => {
  it('finds cgroup mounts and their controllers, decoding escapes', () => {
    const text = [
      '30 22 0:27 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755',
      '31 30 0:28 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu',
      '33 30 0:30 / /sys/fs/cgroup/cpuset rw,relatime - cgroup cgroup rw,cpuset',
      '40 30 0:37 /docker/x /sys/fs/cgroup/my\\040dir rw,relatime shared:9 - cgroup2 cgroup2 rw',
    ].join('\n');
    const mounts = parseMountinfo(text);
    expect(mounts.map((m) => [m.point, m.fsType])).toEqual([
      ['/sys/fs/cgroup/cpu', 'cgroup'],
      ['/sys/fs/cgroup/cpuset', 'cgroup'],
      ['/sys/fs/cgroup/my dir', 'cgroup2'],
    ]);
    expect(mounts[1]!.superOptions).toEqual(['rw', 'cpuset']);
    expect(mounts[2]!.root).toBe('/docker/x');
  });
});

/** A temp dir standing for /sys/fs/cgroup (root/) and /proc/self (proc/). */
function fakeHost(mounts: [point: string, fsType: string, opts: string][], ownCgroups = '0::/\n'): { root: string; procSelf: string } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'drover-cgroups-'));
  const root = path.join(dir, 'root');
  const procSelf = path.join(dir, 'proc');
  fs.mkdirSync(procSelf, { recursive: true });
  fs.mkdirSync(root);
  const lines = mounts.map(([point, fsType, opts], i) => {
    fs.mkdirSync(path.join(root, point), { recursive: true });
    return `${31 + i} 30 0:${28 + i} / ${path.join(root, point)} rw,relatime - ${fsType} ${fsType} ${opts}`;
  });
  fs.writeFileSync(path.join(procSelf, 'mountinfo'), lines.join('\n') + '\n');
  fs.writeFileSync(path.join(procSelf, 'cgroup'), ownCgroups);
  return { root, procSelf };
}

const put = (file: string, text: string) => fs.writeFileSync(file, text);
const get = (file: string) => fs.readFileSync(file, 'utf8');

describe('cgroup v1 (fake tree)', () => {
  let host: { root: string; procSelf: string };
  beforeEach(() => {
    host = fakeHost(
      [['cpu', 'cgroup', 'rw,cpu'], ['cpuacct', 'cgroup', 'rw,cpuacct'], ['memory', 'cgroup', 'rw,memory'], ['unified', 'cgroup2', 'rw']],
      '4:memory:/agents/a1\n2:cpuacct:/\n1:cpu:/\n0::/\n',
    );
    put(path.join(host.root, 'unified', 'cgroup.controllers'), 'hugetlb\n');
  });
  afterEach(() => fs.rmSync(path.dirname(host.root), { recursive: true, force: true }));

  it('prefers the v1 hierarchies of cpu and memory, with cpuacct for usage', () => {
    const { layout } = detectCgroups(host.root, { procSelf: host.procSelf });
    expect(layout).toEqual({
      version: 1,
      group: 'drover',
      parents: { cpu: path.join(host.root, 'cpu'), memory: path.join(host.root, 'memory'), cpuacct: path.join(host.root, 'cpuacct') },
    });
  });

  it('places the group below this process\'s own cgroups when asked', () => {
    fs.mkdirSync(path.join(host.root, 'memory', 'agents', 'a1'), { recursive: true });
    const { layout } = detectCgroups(host.root, { procSelf: host.procSelf, placement: 'own', group: 'drover-test-x' });
    expect(layout?.parents.memory).toBe(path.join(host.root, 'memory', 'agents', 'a1'));
    expect(layout?.parents.cpu).toBe(path.join(host.root, 'cpu'));
    expect(layout?.group).toBe('drover-test-x');
  });

  it('writes the limits, moves the pid, changes them live and reads them back', async () => {
    const { layout } = detectCgroups(host.root, { procSelf: host.procSelf });
    await applyVmLimits(layout!, 'vm1', 4242, { cpuWeight: 200, cpuLimitCores: 0.5, memoryLimitMiB: 512 });
    const dirs = vmCgroupDirs(layout!, 'vm1');
    expect(get(path.join(dirs.cpu, 'cpu.shares'))).toBe('2048');
    expect(get(path.join(dirs.cpu, 'cpu.cfs_quota_us'))).toBe('50000');
    expect(get(path.join(dirs.memory, 'memory.limit_in_bytes'))).toBe(String(512 * MiB));
    for (const dir of [dirs.cpu, dirs.memory, dirs.cpuacct!]) expect(get(path.join(dir, 'cgroup.procs'))).toBe('4242');

    // What the kernel would show: usage counters, and LONG_MAX for an unlimited memory group.
    put(path.join(dirs.cpuacct!, 'cpuacct.usage'), '123456789\n');
    put(path.join(dirs.memory, 'memory.usage_in_bytes'), `${300 * MiB}\n`);
    put(path.join(dirs.cpu, 'cpu.stat'), 'nr_periods 10\nnr_throttled 4\nthrottled_time 777\n');
    expect(await readVmCgroup(layout!, 'vm1')).toEqual({
      limits: { cpuWeight: 200, cpuLimitCores: 0.5, memoryLimitMiB: 512 },
      pids: [4242],
      usage: { cpuNs: 123456789, throttledNs: 777, memoryBytes: 300 * MiB },
    });

    await applyVmLimits(layout!, 'vm1', 4242, { cpuWeight: 200 });
    expect(get(path.join(dirs.cpu, 'cpu.cfs_quota_us'))).toBe('-1');
    expect(get(path.join(dirs.memory, 'memory.limit_in_bytes'))).toBe('-1');
    expect(await readVmCgroup(layout!, 'nope')).toBeNull();
  });

  it('refuses to lower memory below what the VM uses, and leaves the limits as they were', async () => {
    const { layout } = detectCgroups(host.root, { procSelf: host.procSelf });
    await applyVmLimits(layout!, 'vm1', 4242, { memoryLimitMiB: 1024 });
    const dirs = vmCgroupDirs(layout!, 'vm1');
    put(path.join(dirs.memory, 'memory.usage_in_bytes'), `${600 * MiB}\n`);
    await expect(applyVmLimits(layout!, 'vm1', 4242, { memoryLimitMiB: 512, cpuLimitCores: 1 })).rejects.toThrow(
      'memoryLimitMiB: 512 is below what the VM uses now (600 MiB); give at least 600, or shrink the guest first (balloon)',
    );
    expect(get(path.join(dirs.memory, 'memory.limit_in_bytes'))).toBe(String(1024 * MiB));
    expect(get(path.join(dirs.cpu, 'cpu.cfs_quota_us'))).toBe('-1');
  });

  it('will not remove a group that still holds processes', async () => {
    const { layout } = detectCgroups(host.root, { procSelf: host.procSelf });
    await applyVmLimits(layout!, 'vm1', 4242, {});
    await expect(removeVmCgroup(layout!, 'vm1')).rejects.toThrow('cannot remove the cgroups of VM vm1: processes 4242 are still in them (stop the VM first)');
    await expect(removeVmCgroup(layout!, 'never-created')).resolves.toBeUndefined();
  });
});

describe('cgroup v2 (fake tree)', () => {
  let host: { root: string; procSelf: string };
  beforeEach(() => {
    host = fakeHost([['', 'cgroup2', 'rw,nsdelegate']]);
    put(path.join(host.root, 'cgroup.controllers'), 'cpuset cpu io memory pids\n');
    put(path.join(host.root, 'cgroup.subtree_control'), 'memory pids\n');
  });
  afterEach(() => fs.rmSync(path.dirname(host.root), { recursive: true, force: true }));

  it('uses the unified hierarchy when it offers cpu and memory', () => {
    expect(detectCgroups(host.root, { procSelf: host.procSelf }).layout).toEqual({ version: 2, group: 'drover', parents: { cpu: host.root, memory: host.root } });
  });

  it('enables the controllers down to the VM group, writes the limits and reads them back', async () => {
    const { layout } = detectCgroups(host.root, { procSelf: host.procSelf });
    await applyVmLimits(layout!, 'vm2', 99, { cpuLimitCores: 2, memoryLimitMiB: 256 });
    expect(get(path.join(host.root, 'cgroup.subtree_control'))).toBe('+cpu');
    expect(get(path.join(host.root, 'drover', 'cgroup.subtree_control'))).toBe('+cpu +memory');
    const dir = vmCgroupDirs(layout!, 'vm2').cpu;
    expect(get(path.join(dir, 'cpu.max'))).toBe('200000 100000');
    expect(get(path.join(dir, 'cpu.weight'))).toBe('100');
    expect(get(path.join(dir, 'memory.max'))).toBe(String(256 * MiB));
    expect(get(path.join(dir, 'cgroup.procs'))).toBe('99');

    put(path.join(dir, 'cpu.stat'), 'usage_usec 5000\nuser_usec 4000\nsystem_usec 1000\nnr_periods 3\nnr_throttled 1\nthrottled_usec 20\n');
    put(path.join(dir, 'memory.current'), `${100 * MiB}\n`);
    expect(await readVmCgroup(layout!, 'vm2')).toEqual({
      limits: { cpuWeight: 100, cpuLimitCores: 2, memoryLimitMiB: 256 },
      pids: [99],
      usage: { cpuNs: 5_000_000, throttledNs: 20_000, memoryBytes: 100 * MiB },
    });
  });
});

describe('cgroup detection', () => {
  it('says why when no hierarchy has cpu and memory', () => {
    const host = fakeHost([['cpu', 'cgroup', 'rw,cpu'], ['unified', 'cgroup2', 'rw']]);
    try {
      put(path.join(host.root, 'unified', 'cgroup.controllers'), 'cpu io\n');
      const found = detectCgroups(host.root, { procSelf: host.procSelf });
      expect(found.layout).toBeNull();
      expect(found.reason).toMatch(/cpu mounted, memory missing; no cgroup2 mount offers both/);
    } finally {
      fs.rmSync(path.dirname(host.root), { recursive: true, force: true });
    }
  });
  it('says why when /proc cannot be read', () => {
    expect(detectCgroups('/sys/fs/cgroup', { procSelf: '/nonexistent' }).reason).toMatch(/cannot read \/nonexistent/);
  });
});

// The real thing: a busy process capped at half a core, in a group below this
// test's own cgroups (so it stays inside whatever accounts for this run).
const real = detectCgroups('/sys/fs/cgroup', { placement: 'own', group: `drover-test-${process.pid}` });

describe('cgroups on this host', () => {
  let child: ChildProcess | undefined;
  const vmId = 'busy';

  afterEach(async () => {
    if (!real.layout) return;
    if (child && child.exitCode === null && child.signalCode === null) {
      const exited = once(child, 'exit');
      child.kill('SIGKILL');
      await exited;
    }
    child = undefined;
    await removeVmCgroup(real.layout, vmId, { evict: true });
    for (const parent of new Set(Object.values(real.layout.parents))) {
      const group = path.join(parent, real.layout.group);
      if (fs.existsSync(group)) fs.rmdirSync(group);
    }
  });

  it.skipIf(!real.layout)(`caps a busy process at half a core${real.layout ? '' : ` (skipped: ${real.reason})`}`, async () => {
    const layout = real.layout!;
    child = spawn('sh', ['-c', 'while :; do :; done'], { stdio: 'ignore' });
    const pid = child.pid!;
    await applyVmLimits(layout, vmId, pid, { cpuLimitCores: 0.5 });

    const dirs = vmCgroupDirs(layout, vmId);
    for (const dir of new Set(Object.values(dirs))) expect(get(path.join(dir, 'cgroup.procs')).split('\n')).toContain(String(pid));
    if (layout.version === 1) {
      expect(get(path.join(dirs.cpu, 'cpu.cfs_quota_us')).trim()).toBe('50000');
      expect(get(path.join(dirs.cpu, 'cpu.cfs_period_us')).trim()).toBe('100000');
    } else {
      expect(get(path.join(dirs.cpu, 'cpu.max')).trim()).toBe('50000 100000');
    }

    const first = await readVmCgroup(layout, vmId);
    await new Promise((r) => setTimeout(r, 200));
    const second = await readVmCgroup(layout, vmId);
    expect(first?.limits).toEqual({ cpuWeight: 100, cpuLimitCores: 0.5, memoryLimitMiB: null });
    expect(second?.pids).toContain(pid);
    expect(second!.usage.cpuNs!).toBeGreaterThanOrEqual(first!.usage.cpuNs!);

    // Live: other limits, then none.
    await applyVmLimits(layout, vmId, pid, { cpuWeight: 50, memoryLimitMiB: 256 });
    expect((await readVmCgroup(layout, vmId))?.limits).toEqual({ cpuWeight: 50, cpuLimitCores: null, memoryLimitMiB: 256 });
    await applyVmLimits(layout, vmId, pid, {});
    expect((await readVmCgroup(layout, vmId))?.limits).toEqual({ cpuWeight: 100, cpuLimitCores: null, memoryLimitMiB: null });

    await expect(removeVmCgroup(layout, vmId)).rejects.toThrow(new RegExp(`processes ${pid} are still in them`));
    const exited = once(child, 'exit');
    child.kill('SIGKILL');
    await exited;
    await removeVmCgroup(layout, vmId);
    for (const dir of Object.values(dirs)) expect(fs.existsSync(dir)).toBe(false);
  });
});
