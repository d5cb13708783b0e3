// Benchmark suite `scheduler` (issue 4): the planner alone, no QEMU.
// - placement throughput: 100,000 VMs of mixed sizes (with HA, label rules,
//   anti-affinity and affinity groups) onto 10,000 hosts, spread and pack:
//   placements/s (the whole plan() call) and the heap it used;
// - pack quality: hosts used / ceil(sum of allocation / host capacity), per
//   resource (memory, vCPUs with the CPU overcommit), and against the larger
//   bound;
// - balancing: 20 hosts / 300 VMs and 100 hosts / 2,000 VMs packed onto
//   some of the hosts (skewed): one default pass (at most 8 moves) and a full
//   rebalance (no move limit): imbalance before and after, moves, wall time.
// Deterministic inputs (a seeded generator); timings are the p50 of runs.
import { plan, type ClusterSnapshot, type SnapshotGroup, type SnapshotVm } from '../src/core/planner/index.js';
import { dist, type BenchResult } from './report.js';

const RUNS = Number(process.env.BENCH_SCHED_RUNS ?? 3);
const HOSTS = Number(process.env.BENCH_SCHED_HOSTS ?? 10_000);
const VMS = Number(process.env.BENCH_SCHED_VMS ?? 100_000);

/** Mulberry32: a small seeded generator, so every run plans the same cluster. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

// vCPUs, GiB, weight: small VMs are common, large ones rare.
const SIZES: Array<[number, number, number]> = [[1, 1, 20], [1, 2, 20], [2, 4, 20], [2, 8, 12], [4, 8, 10], [4, 16, 8], [8, 32, 6], [16, 64, 4]];
const WEIGHT = SIZES.reduce((s, x) => s + x[2], 0);

function size(r: () => number): [number, number] {
  let x = r() * WEIGHT;
  for (const [c, g, w] of SIZES) {
    if ((x -= w) < 0) return [c, g * 1024];
  }
  return [1, 1024];
}

function hostsOf(n: number, cpus: number, memoryMiB: number): ClusterSnapshot['hosts'] {
  return Array.from({ length: n }, (_, i) => ({ id: `h${i}`, cpus, memoryMiB, state: 'ready' as const, labels: { zone: `z${i % 4}` } }));
}

/** Mixed VMs: 30% HA, 5% must run in zone z0, 10% should run in z1; groups of 3 must-anti-affine VMs and must-affine pairs. */
function mixedCluster(hosts: number, vms: number, placement: 'spread' | 'pack'): ClusterSnapshot {
  const r = rng(42);
  const list: SnapshotVm[] = Array.from({ length: vms }, (_, i) => {
    const [cpus, memoryMiB] = size(r);
    const vm: SnapshotVm = { id: `v${i}`, cpus, memoryMiB, host: null, ha: r() < 0.3 };
    const rule = r();
    if (rule < 0.05) vm.hostRules = [{ labels: { zone: 'z0' }, strength: 'must' }];
    else if (rule < 0.15) vm.hostRules = [{ labels: { zone: 'z1' }, strength: 'should' }];
    return vm;
  });
  const groups: SnapshotGroup[] = [];
  for (let i = 0; i + 2 < vms && groups.length < vms / 50; i += 50) groups.push({ id: `anti${i}`, kind: 'anti-affinity', strength: 'must', vms: [`v${i}`, `v${i + 1}`, `v${i + 2}`] });
  for (let i = 25; i + 1 < vms && groups.length < vms / 25; i += 100) groups.push({ id: `pair${i}`, kind: 'affinity', strength: 'must', vms: [`v${i}`, `v${i + 1}`] });
  return { nowMs: 0, hosts: hostsOf(hosts, 48, 384 * 1024), vms: list, groups, policy: { placement } };
}

function timed<T>(f: () => T): { value: T; ms: number } {
  const t = performance.now();
  const value = f();
  return { value, ms: performance.now() - t };
}

function placement(r: BenchResult): void {
  for (const mode of ['spread', 'pack'] as const) {
    const rates: number[] = [];
    const heaps: number[] = [];
    let last: ReturnType<typeof plan> | undefined;
    for (let i = 0; i < RUNS; i++) {
      const s = mixedCluster(HOSTS, VMS, mode);
      const heap0 = process.memoryUsage().heapUsed;
      const { value, ms } = timed(() => plan(s, 'place'));
      heaps.push((process.memoryUsage().heapUsed - heap0) / 1024 ** 2);
      rates.push(value.actions.length / (ms / 1000));
      last = value;
    }
    r.metrics[`place.${mode}.rate`] = dist(rates, 'placements/s', `${VMS} mixed VMs onto ${HOSTS} hosts (48 CPUs, 384 GiB); ${last!.unplaced.length} unplaced`);
    r.metrics[`place.${mode}.heap`] = dist(heaps, 'MiB', 'heap growth during plan() (the plan and the model)');
    if (mode === 'pack') packQuality(r, mixedCluster(HOSTS, VMS, mode), last!);
  }
}

function packQuality(r: BenchResult, s: ClusterSnapshot, p: ReturnType<typeof plan>): void {
  const used = new Set(p.actions.map((a) => (a.action.kind === 'place' ? a.action.host : '')));
  const h = s.hosts[0]!;
  const mem = s.vms.reduce((a, v) => a + v.memoryMiB, 0);
  const cpu = s.vms.reduce((a, v) => a + v.cpus, 0);
  const lbMem = Math.ceil(mem / h.memoryMiB);
  const lbCpu = Math.ceil(cpu / (h.cpus * 4));
  const round = (x: number) => Math.round(x * 1000) / 1000;
  r.metrics['pack.hostsUsed'] = { value: used.size, unit: 'hosts', note: `lower bounds: memory ${lbMem}, vCPUs ${lbCpu} (overcommit x4)` };
  r.metrics['pack.ratio.memory'] = { value: round(used.size / lbMem), unit: 'x', note: 'hosts used / ceil(sum memory / host memory); target <= 1.05' };
  r.metrics['pack.ratio.cpu'] = { value: round(used.size / lbCpu), unit: 'x', note: 'hosts used / ceil(sum vCPUs / host vCPU capacity)' };
  r.metrics['pack.ratio'] = { value: round(used.size / Math.max(lbMem, lbCpu)), unit: 'x', note: 'against the larger (binding) bound; target <= 1.05' };
}

/** VMs packed onto the first hosts (skewed), each with a measured load. */
export function skewed(hosts: number, vms: number, maxMoves: number): ClusterSnapshot {
  const r = rng(7);
  const list: SnapshotVm[] = Array.from({ length: vms }, (_, i) => {
    const [cpus, memoryMiB] = size(r);
    return { id: `v${i}`, cpus, memoryMiB, host: null, cpuUsage: Math.round(cpus * (0.2 + 0.6 * r()) * 100) / 100, memoryUsageMiB: Math.round(memoryMiB * (0.5 + 0.5 * r())) };
  });
  const base: ClusterSnapshot = { nowMs: 0, hosts: hostsOf(hosts, 32, 256 * 1024), vms: list, policy: { placement: 'pack', failures: 0 } };
  const placed = new Map(plan(base, 'place').actions.map((a) => [(a.action as { vm: string }).vm, (a.action as { host: string }).host]));
  return { ...base, vms: list.map((v) => ({ ...v, host: placed.get(v.id) ?? null })), policy: { failures: 1, balance: { maxMoves } } };
}

function balancing(r: BenchResult): void {
  for (const [hosts, vms] of [[20, 300], [100, 2000]] as const) {
    for (const [label, maxMoves] of [['pass', 8], ['full', 100_000]] as const) {
      const times: number[] = [];
      let p: ReturnType<typeof plan> | undefined;
      for (let i = 0; i < RUNS; i++) {
        const s = skewed(hosts, vms, maxMoves);
        const t = timed(() => plan(s, 'balance'));
        times.push(t.ms);
        p = t.value;
      }
      const key = `balance.${hosts}h.${label}`;
      const note = `${hosts} hosts / ${vms} VMs packed: imbalance ${p!.metrics.imbalanceBefore} -> ${p!.metrics.imbalanceAfter} in ${p!.metrics.moves} moves (${label === 'pass' ? 'one default pass, at most 8 moves' : 'one pass without a move limit'})`;
      r.metrics[`${key}.wall`] = dist(times, 'ms', note);
      r.metrics[`${key}.imbalanceBefore`] = { value: p!.metrics.imbalanceBefore!, unit: 'stddev' };
      r.metrics[`${key}.imbalanceAfter`] = { value: p!.metrics.imbalanceAfter!, unit: 'stddev' };
      r.metrics[`${key}.moves`] = { value: p!.metrics.moves!, unit: 'moves' };
    }
  }
}

export async function run(r: BenchResult): Promise<void> {
  placement(r);
  balancing(r);
}
