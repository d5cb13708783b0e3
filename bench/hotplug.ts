// Benchmark suite `hotplug` (issue 6):
// - API resize call to the guest itself showing the new vCPU online, and the
//   new memory in its MemTotal (p50/p95 over BENCH_HOTPLUG_RUNS each);
// - memory the balloon policy and KSM take back from 8 identical idle tiny
//   guests under host pressure, as a fraction of their configured memory.
import { readFileSync, writeFileSync } from 'node:fs';
import type { DroverClient } from '../src/api/client.js';
import { freePort, guestInfo, startCluster, waitFor, type Cluster } from '../test/harness.js';
import { dist, type BenchResult } from './report.js';

const RUNS = Number(process.env.BENCH_HOTPLUG_RUNS ?? 10);
const IDLE_GUESTS = Number(process.env.BENCH_IDLE_GUESTS ?? 8);
const GUEST_MIB = 256;
/** How long the balloon policy and ksmd get to take memory back from the idle guests. */
const RECLAIM_WAIT_MS = Number(process.env.BENCH_RECLAIM_WAIT_MS ?? 240_000);
const KSM = '/sys/kernel/mm/ksm';

async function createRunning(client: DroverClient, name: string, port: number, body: object): Promise<void> {
  await client.call('createVm', { body: { name, image: 'tiny', ports: [{ hostPort: port, guestPort: 80 }], ...body } });
  await waitFor(async () => {
    const v = await client.call('getVm', { params: { name } });
    if (v.phase === 'Failed') throw new Error(`${name} failed: ${v.reason}`);
    return v.phase === 'Running' && v.guestReadyAt ? v : undefined;
  }, 120_000, `${name} running`);
  await waitFor(() => guestInfo(port).catch(() => undefined), 30_000, `${name} /info`);
}

/** ms from the resize call until `seen` holds for the guest's /info (polled every 25 ms); the job must succeed too. */
async function timeResize(c: Cluster, name: string, port: number, body: { cpus?: number; memoryMiB?: number }, seen: (i: { cpusOnline: number; memTotalKiB: number }) => boolean): Promise<number> {
  const t0 = performance.now();
  const r = await c.client.call('resizeVm', { params: { name }, body });
  await waitFor(async () => seen(await guestInfo(port)), 60_000, `${name} to show ${JSON.stringify(body)}`, 25);
  const ms = performance.now() - t0;
  const job = await c.client.waitJob(r.job.id);
  if (job.state !== 'succeeded') throw new Error(`resize ${JSON.stringify(body)} failed: ${JSON.stringify(job.error)}`);
  return ms;
}

async function hotplugTimes(r: BenchResult): Promise<void> {
  const c = await startCluster({ agents: 1 });
  try {
    const name = 'bh';
    const port = await freePort();
    await createRunning(c.client, name, port, { cpus: 1, maxCpus: 3, memoryMiB: GUEST_MIB, maxMemoryMiB: 1024 });
    // The first hot-added vCPU switches the guest kernel from UP to SMP code: slower, and once only. Not counted.
    const warm = await timeResize(c, name, port, { cpus: 2 }, (i) => i.cpusOnline === 2);
    const base = (await guestInfo(port)).memTotalKiB;
    const cpuMs: number[] = [];
    const memMs: number[] = [];
    // 2 -> 3 vCPUs each time; without KVM vCPUs are never removed from a running guest
    // (docs/resize.md), so the VM goes back to 2 stopped and is started again.
    for (let i = 0; i < RUNS; i++) {
      memMs.push(await timeResize(c, name, port, { memoryMiB: GUEST_MIB + 256 }, (g) => g.memTotalKiB >= base + 254 * 1024));
      await timeResize(c, name, port, { memoryMiB: GUEST_MIB }, (g) => g.memTotalKiB <= base + 32 * 1024);
      cpuMs.push(await timeResize(c, name, port, { cpus: 3 }, (g) => g.cpusOnline === 3));
      await c.client.waitJob((await c.client.call('stopVm', { params: { name }, body: {} })).job.id);
      await c.client.waitJob((await c.client.call('resizeVm', { params: { name }, body: { cpus: 2 } })).job.id);
      await c.client.waitJob((await c.client.call('startVm', { params: { name }, body: {} })).job.id);
      await waitFor(async () => (await guestInfo(port).catch(() => undefined))?.cpusOnline === 2, 120_000, `${name} back with 2 vCPUs`);
    }
    r.metrics.vcpu_api_to_guest = dist(cpuMs, 'ms', 'resize call (2 -> 3 vCPUs) to the guest showing 3 online in /info; target p95 <= 10 s');
    r.metrics.memory_api_to_guest = dist(memMs, 'ms', 'resize call (+256 MiB virtio-mem) to the guest MemTotal showing it; target p95 <= 10 s');
    r.metrics.first_vcpu_api_to_guest = { value: Math.round(warm), unit: 'ms', n: 1, note: 'the first hot-added vCPU of a 1-vCPU guest (kernel switches to SMP code)' };
  } finally {
    await c.stop();
  }
}

function readKsm(): { run: string; pagesSharing: number; pagesShared: number; fullScans: number } | null {
  try {
    const n = (f: string) => Number(readFileSync(`${KSM}/${f}`, 'utf8').trim());
    return { run: readFileSync(`${KSM}/run`, 'utf8').trim(), pagesSharing: n('pages_sharing'), pagesShared: n('pages_shared'), fullScans: n('full_scans') };
  } catch {
    return null;
  }
}

/** 8 idle guests on an agent with --balloon and --ksm, its host told it has little memory available: what comes back. */
async function reclaim(r: BenchResult): Promise<void> {
  const ksmBefore = readKsm();
  const configuredMiB = IDLE_GUESTS * GUEST_MIB;
  // The policy sees the host short of memory (below 15 % available): it inflates the idlest guests' balloons.
  const c = await startCluster({ agents: 1, agentArgs: ['--balloon', '--balloon-interval-ms', '2000', '--ksm'], agentEnv: { DROVER_BALLOON_HOST_AVAILABLE_MIB: '512' } });
  try {
    for (let i = 0; i < IDLE_GUESTS; i++) await createRunning(c.client, `idle${i}`, await freePort(), { cpus: 1, memoryMiB: GUEST_MIB, maxMemoryMiB: GUEST_MIB });
    const startScans = readKsm()?.fullScans ?? 0;
    const deadline = Date.now() + RECLAIM_WAIT_MS;
    let balloonMiB = 0;
    let ksmMiB = 0;
    while (Date.now() < deadline) {
      await new Promise((res) => setTimeout(res, 5000));
      const vms = (await c.client.call('listVms')).filter((v) => v.name.startsWith('idle'));
      balloonMiB = vms.reduce((n, v) => n + Math.max(0, v.spec.memoryMiB - (v.stats?.balloonBytes ?? v.spec.memoryMiB * 1048576) / 1048576), 0);
      const host = (await c.client.call('listHosts'))[0];
      ksmMiB = (host?.inventory?.ksm?.savedBytes ?? 0) / 1048576;
      // Two full KSM passes after the guests settled: merging needs a page seen unchanged twice.
      if ((readKsm()?.fullScans ?? 0) >= startScans + 2 && balloonMiB > 0) break;
    }
    const frac = (x: number) => Math.round((x / configuredMiB) * 1000) / 10;
    r.metrics.balloon_reclaimed = { value: frac(balloonMiB), unit: '%', note: `${Math.round(balloonMiB)} MiB of ${configuredMiB} MiB configured (${IDLE_GUESTS} idle ${GUEST_MIB} MiB guests), balloon policy under host pressure` };
    r.metrics.ksm_saved = { value: frac(ksmMiB), unit: '%', note: `${Math.round(ksmMiB)} MiB merged by KSM (host-wide pages_sharing + zero pages) after ${(readKsm()?.fullScans ?? 0) - startScans} full scans` };
    r.metrics.reclaimed_total = { value: frac(balloonMiB + ksmMiB), unit: '%', note: 'balloon + KSM, of configured guest memory' };
  } finally {
    await c.stop();
    // Leave ksmd as we found it (the agent's --ksm turned it on): 2 unmerges every page (the write returns once done), then 0 as it was.
    if (ksmBefore && ksmBefore.run === '0') {
      writeFileSync(`${KSM}/run`, '2');
      writeFileSync(`${KSM}/run`, '0');
    }
  }
}

export async function run(r: BenchResult): Promise<void> {
  if (process.env.BENCH_PART !== 'reclaim') await hotplugTimes(r);
  if (process.env.BENCH_PART !== 'times') await reclaim(r);
}
