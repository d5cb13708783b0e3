// Benchmark suite `ha` (issue 5): a host is killed outright (agent, fencer
// and QEMUs get SIGKILL, as in a power loss) while it runs an HA tiny guest;
// measured from the kill to the guest's HTTP service answering on the other
// host, split into detection (kill -> the controller declares the host dead,
// which includes the fencing margin), restart (-> the VM is Running on the
// other host) and guest boot (-> /health answers there). The killed host's
// agent is started again between faults, and the next fault hits the host the
// guest runs on then. Two hosts, agents on this machine (process mode).
import { haTiming } from '../src/core/ha-timing.js';
import { freePort, guestGet, killHost, startCluster, waitFor, type Cluster } from '../test/harness.js';
import { dist, type BenchResult } from './report.js';

const FAULTS = Number(process.env.BENCH_HA_FAULTS ?? 20);

async function hostIndex(c: Cluster, hostId: string | null): Promise<number> {
  const h = (await c.client.call('listHosts')).find((x) => x.id === hostId);
  return h?.name === 'h1' ? 1 : 0;
}

async function oneFault(c: Cluster, name: string, port: number): Promise<{ detect: number; restart: number; boot: number; total: number }> {
  const vm = await c.client.call('getVm', { params: { name } });
  const from = await hostIndex(c, vm.hostId);
  const to = 1 - from;
  const fromId = vm.hostId;
  const t0 = performance.now();
  await killHost(c, from);
  await waitFor(async () => (await c.client.call('listHosts')).find((h) => h.id === fromId)?.state === 'Fenced', 120_000, 'host declared dead', 50);
  const detected = performance.now();
  await waitFor(async () => {
    const v = await c.client.call('getVm', { params: { name } });
    return v.hostId !== fromId && v.phase === 'Running' && v.epoch > vm.epoch;
  }, 120_000, 'VM running elsewhere', 50);
  const restarted = performance.now();
  await waitFor(async () => (await guestGet(port, '/health', 1000, c.forwardAddress(to)).catch(() => undefined))?.status === 200, 120_000, 'guest answers', 50);
  const answered = performance.now();
  // The dead host comes back (it will be the next fault's victim's peer).
  await c.startAgent(from);
  await waitFor(async () => (await c.client.call('listHosts')).find((h) => h.id === fromId)?.state === 'Ready', 120_000, 'host Ready again');
  return { detect: detected - t0, restart: restarted - detected, boot: answered - restarted, total: answered - t0 };
}

export async function run(r: BenchResult): Promise<void> {
  const c = await startCluster({ agents: 2 });
  try {
    const name = 'ha-bench';
    const port = await freePort();
    await c.client.call('createVm', { body: { name, image: 'tiny', host: 'h0', memoryMiB: 256, storage: 'shared', ha: true, ports: [{ hostPort: port, guestPort: 80 }] } });
    await waitFor(async () => (await guestGet(port, '/health', 1000).catch(() => undefined))?.status === 200, 120_000, 'guest up');
    const all: Array<Awaited<ReturnType<typeof oneFault>>> = [];
    for (let i = 0; i < FAULTS; i++) {
      all.push(await oneFault(c, name, port));
      console.log(`fault ${i + 1}/${FAULTS}: ${(all.at(-1)!.total / 1000).toFixed(1)} s`);
    }
    const t = haTiming();
    const s = (xs: number[]) => xs.map((x) => Math.round(x));
    r.metrics['failover.total'] = dist(s(all.map((x) => x.total)), 'ms', `kill -9 of the host -> the HA guest's HTTP answers on the other host; target p95 <= 15000; T=${t.ioTimeoutMs} ms`);
    r.metrics['failover.detect'] = dist(s(all.map((x) => x.detect)), 'ms', `kill -> host declared dead (Fenced): lease expiry ${t.expireAfterMs} ms after its last change, of which ${t.expireAfterMs - t.fenceAfterMs} ms is margin beyond the host's own fence deadline (${t.fenceAfterMs} ms), plus up to one poll`);
    r.metrics['failover.restart'] = dist(s(all.map((x) => x.restart)), 'ms', 'declared dead -> the VM Running on the other host (failover job, placement, new epoch, agent starts QEMU)');
    r.metrics['failover.boot'] = dist(s(all.map((x) => x.boot)), 'ms', 'VM Running -> /health answers (tiny guest boot under TCG)');
    r.metrics['faults'] = { value: all.length, unit: 'faults' };
  } finally {
    await c.stop();
  }
}
