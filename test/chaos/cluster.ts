// The chaos runner's cluster: a testbed (namespace mode as root, process mode
// otherwise) with HA tiny guests that keep writing a counter to their data
// disks, and the watchers the rounds read: QEMUs per VM sampled every 100 ms,
// and where each VM runs now.
import { mkdtempSync } from 'node:fs';
import { DroverClient } from '../../src/api/client.js';
import type { Vm } from '../../src/api/resources.js';
import { findHost, testbedDown, testbedUp, type TestbedState } from '../../src/testbed/testbed.js';
import { startCounter, type CounterWriter } from '../guest-counter.js';
import { freePort, qemusOf, waitFor } from '../harness.js';

export interface ChaosVm {
  name: string;
  id: string;
  /** Process mode: the forwarded host port of its HTTP service. */
  port?: number;
  /** Namespace mode: its bridged address. */
  address?: string;
  counter: CounterWriter;
}

export interface ChaosCluster {
  tb: TestbedState;
  client: () => DroverClient;
  vms: ChaosVm[];
  /** Host name of each VM's current host (refreshed every 500 ms). */
  hostOf: Map<string, string>;
  /** Safety violations the sampler saw (two QEMUs of one VM), with when. */
  takeSamplerViolations(): string[];
  baseOf(vm: ChaosVm): string;
  stop(): Promise<void>;
}

export async function startChaosCluster(o: { hosts: number; vms: number; netns: boolean; log: (line: string) => void }): Promise<ChaosCluster> {
  const tag = `c${process.pid % 100000}`;
  const tb = await testbedUp({
    hosts: o.hosts, netns: o.netns, tag, dir: mkdtempSync('/tmp/drvc-'),
    ...(o.netns ? { subnet: `10.${150 + (process.pid % 50)}.0.0/16` } : {}),
    onProgress: o.log,
  });
  const client = () => new DroverClient({ baseUrl: tb.url, token: tb.token });
  const hostOf = new Map<string, string>();
  const vms: ChaosVm[] = [];
  const violations: string[] = [];
  let sampler: NodeJS.Timeout | undefined;
  let refresher: NodeJS.Timeout | undefined;
  const baseOf = (vm: ChaosVm) => (vm.address ? `http://${vm.address}` : `http://${findHost(tb, hostOf.get(vm.name) ?? 'h0').address}:${vm.port}`);
  const stop = async () => {
    clearInterval(sampler);
    clearInterval(refresher);
    for (const vm of vms) await vm.counter.stop();
    await testbedDown({ tag, dir: tb.dir });
  };
  try {
    for (let i = 0; i < o.vms; i++) {
      const name = `chaos-${i}`;
      const port = o.netns ? undefined : await freePort();
      await client().call('createVm', {
        body: {
          name, image: 'tiny', memoryMiB: 256, diskBytes: 16 * 1048576, storage: 'shared', ha: true,
          ...(o.netns ? { network: { mode: 'bridge' as const } } : { ports: [{ hostPort: port!, guestPort: 80 }] }),
        },
      });
      const vm = await waitFor(async () => {
        const v = await client().call('getVm', { params: { name } });
        return v.phase === 'Running' && v.guestReadyAt ? v : undefined;
      }, 180_000, `${name} running`);
      await refreshHosts(client(), hostOf);
      const address = vm.spec.network?.mode === 'bridge' ? vm.spec.network.address.split('/')[0] : undefined;
      const entry: ChaosVm = { name, id: vm.id, ...(port ? { port } : {}), ...(address ? { address } : {}), counter: undefined as unknown as CounterWriter };
      entry.counter = startCounter(() => baseOf(entry));
      vms.push(entry);
      o.log(`${name} runs on ${hostOf.get(name)}${address ? ` at ${address}` : ` port ${port}`}`);
    }
    sampler = setInterval(() => {
      for (const vm of vms) {
        const pids = qemusOf(tb.dir, vm.id);
        if (pids.length > 1) violations.push(`${new Date().toISOString()} ${vm.name}: ${pids.length} QEMUs at once (${pids.join(', ')})`);
      }
    }, 100);
    refresher = setInterval(() => void refreshHosts(client(), hostOf).catch(() => undefined), 500);
  } catch (err) {
    await stop();
    throw err;
  }
  return {
    tb, client, vms, hostOf, baseOf, stop,
    takeSamplerViolations: () => violations.splice(0),
  };
}

async function refreshHosts(client: DroverClient, hostOf: Map<string, string>): Promise<Vm[]> {
  const [vms, hosts] = await Promise.all([client.call('listVms'), client.call('listHosts')]);
  for (const v of vms) {
    const h = hosts.find((x) => x.id === v.hostId);
    if (h) hostOf.set(v.name, h.name);
  }
  return vms;
}
