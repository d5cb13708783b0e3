// How a VM's resource controls read in the terminal: the limits of its spec,
// what its host has in force (cgroup, each disk's throttle), why some are not
// applied, and the CPU time its cap held back.
import type { AppliedLimits } from '../../api/limits.js';
import type { Vm } from '../../api/resources.js';
import { cgroupPart, diskLimitsOf, formatLimits, type ResourceLimits } from '../../core/resource-controls.js';
import { formatBytes } from '../output.js';

const rate = (bytes: number) => (bytes === 0 ? 'no cap' : `${formatBytes(bytes)}/s`);
const iops = (n: number) => (n === 0 ? 'no cap' : `${n} IOPS`);

/** One line per part in force: "cgroup v1: CPU weight 100, CPU cap 1 core, memory cap none", "disk disk0: ...". */
export function appliedLines(a: AppliedLimits | undefined): string[] {
  if (!a) return [];
  const lines: string[] = [];
  const c = a.cgroup;
  if (c) lines.push(`cgroup v${c.version}: CPU weight ${c.cpuWeight}, CPU cap ${c.cpuLimitCores === undefined ? 'none' : `${c.cpuLimitCores} core${c.cpuLimitCores === 1 ? '' : 's'}`}, memory cap ${c.memoryLimitMiB === undefined ? 'none' : `${c.memoryLimitMiB} MiB`}${c.pool ? `, in pool group ${c.pool}` : ''}`);
  for (const d of a.disks ?? []) lines.push(`disk ${d.id}: read ${iops(d.readIops)}, ${rate(d.readBytesPerSec)}; write ${iops(d.writeIops)}, ${rate(d.writeBytesPerSec)}`);
  for (const p of a.problems ?? []) lines.push(`not applied: ${p}`);
  return lines;
}

/** "CPU throttled 12.3 s, cgroup memory 300 MiB", when the host reports them. */
export function usageText(vm: Vm): string | undefined {
  const s = vm.stats;
  const parts = [
    s?.cpuThrottledSeconds !== undefined ? `CPU throttled ${s.cpuThrottledSeconds.toFixed(1)} s` : '',
    s?.cgroupMemoryBytes !== undefined ? `cgroup memory ${formatBytes(s.cgroupMemoryBytes)}` : '',
  ].filter(Boolean);
  return parts.length ? parts.join(', ') : undefined;
}

/** Whether the host shows the spec's limits in force (or has said why it cannot). */
export function appliedMatches(limits: ResourceLimits | undefined, a: AppliedLimits | undefined): boolean {
  if (a?.problems?.length) return true;
  const cg = cgroupPart(limits);
  if (Object.keys(cg).length > 0) {
    const c = a?.cgroup;
    if (!c || c.cpuWeight !== (cg.cpuWeight ?? 100) || c.cpuLimitCores !== cg.cpuLimitCores || c.memoryLimitMiB !== cg.memoryLimitMiB) return false;
  }
  const d = diskLimitsOf(limits);
  return (a?.disks ?? []).every((x) => x.readIops === d.readIops && x.writeIops === d.writeIops && x.readBytesPerSec === d.readBytesPerSec && x.writeBytesPerSec === d.writeBytesPerSec);
}

/** The page of `drover vm limits`. */
export function limitsDetail(vm: Vm, changed: boolean): string {
  const running = vm.phase === 'Running' || vm.phase === 'Paused';
  const lines = [`VM ${vm.name} limits: ${formatLimits(vm.spec.limits)}`];
  if (!running) lines.push(`  (${vm.phase}: ${changed ? 'they apply' : 'they are applied'} when it starts)`);
  else {
    const applied = appliedLines(vm.appliedLimits);
    lines.push(applied.length ? 'In force on its host:' : '  (nothing in force on its host)');
    lines.push(...applied.map((l) => `  ${l}`));
    const usage = usageText(vm);
    if (usage) lines.push(`  ${usage}`);
  }
  return lines.join('\n');
}
