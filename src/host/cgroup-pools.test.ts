// The resource pool level of VM cgroups on fake v1 and v2 trees: the VM's
// group goes below pool-<name>, whose CPU weight is the pool's shares; a pool
// group is removed once empty (the real removal: test/resource-pools.test.ts).
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { poolWeightFile, removePoolDirIfEmpty } from './cgroup-pools.js';
import { applyVmLimits, detectCgroups, readVmCgroup, vmCgroupDirs } from './cgroups.js';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
});

function fakeHost(mounts: [point: string, fsType: string, opts: string][]): { root: string; procSelf: string } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'drover-cgroup-pools-'));
  dirs.push(dir);
  const [root, procSelf] = [path.join(dir, 'root'), path.join(dir, 'proc')];
  fs.mkdirSync(procSelf, { recursive: true });
  const lines = mounts.map(([point, fsType, opts], i) => {
    fs.mkdirSync(path.join(root, point), { recursive: true });
    return `${31 + i} 30 0:${28 + i} / ${path.join(root, point)} rw,relatime - ${fsType} ${fsType} ${opts}`;
  });
  fs.writeFileSync(path.join(procSelf, 'mountinfo'), `${lines.join('\n')}\n`);
  fs.writeFileSync(path.join(procSelf, 'cgroup'), '0::/\n');
  return { root, procSelf };
}

const get = (file: string) => fs.readFileSync(file, 'utf8');

describe('pool groups', () => {
  it('maps the pool weight to v2 cpu.weight and v1 cpu.shares, and refuses bad names', () => {
    expect(poolWeightFile(2, 200)).toEqual(['cpu.weight', '200']);
    expect(poolWeightFile(1, 200)).toEqual(['cpu.shares', '2048']);
    expect(() => poolWeightFile(2, 0)).toThrow(/cpuWeight/);
    const layout = { version: 2 as const, parents: { cpu: '/x', memory: '/x' }, group: 'drover' };
    expect(vmCgroupDirs(layout, 'a1', 'gold').cpu).toBe('/x/drover/pool-gold/vm-a1');
    expect(() => vmCgroupDirs(layout, 'a1', '../etc')).toThrow(/pool/);
  });

  it('v1: puts the VM below pool-NAME in every hierarchy, with the pool weight as cpu.shares', async () => {
    const host = fakeHost([['cpu', 'cgroup', 'rw,cpu'], ['memory', 'cgroup', 'rw,memory']]);
    const { layout } = detectCgroups(host.root, { procSelf: host.procSelf });
    await applyVmLimits(layout!, 'vm1', 4242, { cpuWeight: 300 }, { name: 'gold', cpuWeight: 200 });
    const d = vmCgroupDirs(layout!, 'vm1', 'gold');
    expect(d.cpu).toBe(path.join(host.root, 'cpu', 'drover', 'pool-gold', 'vm-vm1'));
    expect(get(path.join(host.root, 'cpu', 'drover', 'pool-gold', 'cpu.shares'))).toBe('2048');
    expect(get(path.join(d.cpu, 'cpu.shares'))).toBe('3072');
    expect(get(path.join(d.memory, 'cgroup.procs'))).toBe('4242');
    fs.writeFileSync(path.join(d.memory, 'memory.usage_in_bytes'), '1048576\n');
    expect((await readVmCgroup(layout!, 'vm1', 'gold'))?.limits.cpuWeight).toBe(300);
    expect(await readVmCgroup(layout!, 'vm1')).toBeNull();
  });

  it('removes a pool group only once it is empty', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'drover-pool-dir-'));
    dirs.push(dir);
    fs.mkdirSync(path.join(dir, 'pool-a', 'vm-1'), { recursive: true });
    await removePoolDirIfEmpty(path.join(dir, 'pool-a'));
    expect(fs.existsSync(path.join(dir, 'pool-a'))).toBe(true);
    fs.rmdirSync(path.join(dir, 'pool-a', 'vm-1'));
    await removePoolDirIfEmpty(path.join(dir, 'pool-a'));
    await removePoolDirIfEmpty(path.join(dir, 'pool-gone'));
    expect(fs.existsSync(path.join(dir, 'pool-a'))).toBe(false);
  });

  it('v2: enables the controllers in the pool group and writes its cpu.weight', async () => {
    const host = fakeHost([['', 'cgroup2', 'rw']]);
    fs.writeFileSync(path.join(host.root, 'cgroup.controllers'), 'cpu memory\n');
    const { layout } = detectCgroups(host.root, { procSelf: host.procSelf });
    await applyVmLimits(layout!, 'vm2', 99, {}, { name: 'silver', cpuWeight: 50 });
    const pool = path.join(host.root, 'drover', 'pool-silver');
    expect(get(path.join(pool, 'cgroup.subtree_control'))).toBe('+cpu +memory');
    expect(get(path.join(pool, 'cpu.weight'))).toBe('50');
    expect(get(path.join(pool, 'vm-vm2', 'cgroup.procs'))).toBe('99');
  });
});
