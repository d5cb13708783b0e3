// Benchmark suite `lifecycle` (issue 2):
// - API call to QEMU started with QMP answering, split into Drover's own
//   overhead and QEMU's own spawn-to-QMP time (p50/p95 over 20 VMs);
// - thin clone creation for a 1 GiB and a 10 GiB base;
// - API call to guest ready (the DROVER-READY serial marker);
// - controller and agent resident memory, idle and with 10 VMs.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { DroverClient } from '../src/api/client.js';
import type { Vm } from '../src/api/resources.js';
import { createThinClone } from '../src/host/storage.js';
import { startCluster, waitFor, type Cluster } from '../test/harness.js';
import { dist, type BenchResult } from './report.js';

const START_RUNS = Number(process.env.BENCH_START_RUNS ?? 20);
const READY_RUNS = Number(process.env.BENCH_READY_RUNS ?? 10);
const FLEET = Number(process.env.BENCH_FLEET ?? 10);

function rssMiB(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Math.round((Number(m[1]) / 1024) * 10) / 10 : NaN;
}

async function getVm(client: DroverClient, name: string): Promise<Vm> {
  return client.call('getVm', { params: { name } });
}

async function deleteVm(client: DroverClient, name: string): Promise<void> {
  const { job } = await client.call('deleteVm', { params: { name } });
  await client.waitJob(job.id);
}

/** Create+start one VM; returns API-call-to-QMP total, QEMU's own part, and API-call-to-ready. */
interface StartTiming {
  totalMs: number;
  qemuMs: number;
  readyMs?: number;
  /** The create job's volumes step: controller -> agent -> qemu-img -> report -> controller. */
  volumesMs: number;
  /** From the job's start request to QMP answering, less QEMU's own time: the agent's part. */
  agentSpawnMs: number;
}

async function timeOneStart(c: Cluster, name: string, waitReady: boolean): Promise<StartTiming> {
  const t0 = Date.now();
  const { job } = await c.client.call('createVm', { body: { name, image: 'tiny', cpus: 1, memoryMiB: 256 } });
  const vm = await waitFor(async () => {
    const v = await getVm(c.client, name);
    if (v.phase === 'Failed') throw new Error(`VM ${name} failed: ${v.reason}`);
    return v.qmpReadyAt && v.qemuStartMs !== undefined && (!waitReady || v.guestReadyAt) ? v : null;
  }, 120_000, `${name} started`, 20);
  const totalMs = Date.parse(vm.qmpReadyAt!) - t0;
  const steps = (await c.client.waitJob(job.id)).steps;
  const at = (n: string, k: 'startedAt' | 'endedAt') => Date.parse(steps.find((s) => s.name === n)?.[k] ?? '');
  return {
    totalMs,
    qemuMs: vm.qemuStartMs!,
    readyMs: vm.guestReadyAt ? Date.parse(vm.guestReadyAt) - t0 : undefined,
    volumesMs: at('volumes', 'endedAt') - at('volumes', 'startedAt'),
    agentSpawnMs: Date.parse(vm.qmpReadyAt!) - at('start', 'endedAt') - vm.qemuStartMs!,
  };
}

async function startTimes(c: Cluster, r: BenchResult): Promise<void> {
  const totals: number[] = [];
  const qemus: number[] = [];
  const overheads: number[] = [];
  const volumes: number[] = [];
  const spawns: number[] = [];
  // Two warm-up creates first: the first create after a controller start pays for JIT and cold caches.
  for (let i = 0; i < 2; i++) {
    await timeOneStart(c, `bw${i}`, false);
    await deleteVm(c.client, `bw${i}`);
  }
  for (let i = 0; i < START_RUNS; i++) {
    const t = await timeOneStart(c, `bs${i}`, false);
    totals.push(t.totalMs);
    qemus.push(t.qemuMs);
    overheads.push(t.totalMs - t.qemuMs);
    volumes.push(t.volumesMs);
    spawns.push(t.agentSpawnMs);
    await deleteVm(c.client, `bs${i}`);
  }
  r.metrics.api_to_qmp_total = dist(totals, 'ms', 'API create call to QMP answering');
  r.metrics.api_to_qmp_qemu_own = dist(qemus, 'ms', "QEMU's own spawn-to-QMP time");
  r.metrics.api_to_qmp_drover_overhead = dist(overheads, 'ms', 'total minus QEMU own (includes volume creation)');
  r.metrics.overhead_part_volumes_step = dist(volumes, 'ms', 'create job volumes step: assignment, qemu-img thin clone, report');
  r.metrics.overhead_part_agent_spawn = dist(spawns, 'ms', 'start request to QMP answering, less QEMU own');
}

async function readyTimes(c: Cluster, r: BenchResult): Promise<void> {
  const ready: number[] = [];
  for (let i = 0; i < READY_RUNS; i++) {
    const t = await timeOneStart(c, `br${i}`, true);
    ready.push(t.readyMs!);
    await deleteVm(c.client, `br${i}`);
  }
  r.metrics.api_to_guest_ready = dist(ready, 'ms', 'API create call to DROVER-READY on the serial console (TCG)');
}

async function thinClones(r: BenchResult): Promise<void> {
  const dir = mkdtempSync('/var/tmp/drover-bench-');
  try {
    for (const gib of [1, 10]) {
      const base = join(dir, `base-${gib}g.qcow2`);
      // A fully allocated base, so its real size on disk is what the name says.
      execFileSync('qemu-img', ['create', '-q', '-f', 'qcow2', '-o', 'preallocation=falloc', base, `${gib}G`]);
      const times: number[] = [];
      for (let i = 0; i < 10; i++) {
        const t0 = performance.now();
        await createThinClone({ path: join(dir, `clone-${gib}-${i}.qcow2`), backingFile: base, backingFormat: 'qcow2' });
        times.push(performance.now() - t0);
      }
      r.metrics[`thin_clone_${gib}gib_base`] = dist(times, 'ms', `qcow2 thin clone of a fully allocated ${gib} GiB base (qemu-img run included)`);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

async function memory(c: Cluster, r: BenchResult): Promise<void> {
  await new Promise((res) => setTimeout(res, 3000));
  r.metrics.controller_rss_idle = { value: rssMiB(c.controller.pid), unit: 'MiB' };
  r.metrics.agent_rss_idle = { value: rssMiB(c.agents[0]!.pid), unit: 'MiB' };
  for (let i = 0; i < FLEET; i++) await c.client.call('createVm', { body: { name: `bf${i}`, image: 'tiny', cpus: 1, memoryMiB: 256 } });
  await waitFor(async () => (await c.client.call('listVms')).filter((v) => v.guestReadyAt && v.phase === 'Running').length === FLEET, 300_000, 'fleet ready', 500);
  await new Promise((res) => setTimeout(res, 5000));
  r.metrics[`controller_rss_${FLEET}_vms`] = { value: rssMiB(c.controller.pid), unit: 'MiB' };
  r.metrics[`agent_rss_${FLEET}_vms`] = { value: rssMiB(c.agents[0]!.pid), unit: 'MiB' };
  for (let i = 0; i < FLEET; i++) await deleteVm(c.client, `bf${i}`);
}

export async function run(r: BenchResult): Promise<void> {
  await thinClones(r);
  const c = await startCluster();
  try {
    await memory(c, r);
    await startTimes(c, r);
    await readyTimes(c, r);
  } finally {
    await c.stop();
  }
}
