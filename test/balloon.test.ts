// The automatic balloon (agent flag --balloon) with real guests: under host
// pressure an idle guest gives memory up; when it then fills most of its
// memory, it gets the memory back before it runs short: its data stays
// intact, it neither reboots nor meets the OOM killer.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import type { DroverEvent } from '../src/api/resources.js';
import { freePort, guestGet, guestInfo, startCluster, waitFor, type Cluster } from './harness.js';

let c: Cluster;
const GUEST_MIB = 512;
/** The buffer the guest fills: more than the inflated balloon leaves it, most of its memory (its /run tmpfs holds up to 80 %). */
const FILL_MIB = 320;

beforeAll(async () => {
  // The policy believes the host has 600 MiB available of its memory: well under the pressure line.
  c = await startCluster({ agents: 1, agentArgs: ['--balloon', '--balloon-interval-ms', '1000'], agentEnv: { DROVER_BALLOON_HOST_AVAILABLE_MIB: '600' } });
}, 180_000);

afterAll(async () => {
  await c?.stop();
});

async function balloonMiB(name: string): Promise<number> {
  const vm = await c.client.call('getVm', { params: { name } });
  return Math.round((vm.stats?.balloonBytes ?? GUEST_MIB * 1048576) / 1048576);
}

describe('the balloon policy with real guests', () => {
  it('takes memory from an idle guest under host pressure and gives it back when the guest fills its memory, without OOM', async () => {
    const name = 'bal';
    const port = await freePort();
    const events: DroverEvent[] = [];
    const ws = new WebSocket(c.client.wsUrl('events'));
    ws.on('message', (d) => events.push(JSON.parse(String(d)) as DroverEvent));
    await new Promise<void>((resolve, reject) => ws.once('open', () => resolve()).once('error', reject));
    await c.client.call('createVm', { body: { name, image: 'tiny', cpus: 1, memoryMiB: GUEST_MIB, maxMemoryMiB: GUEST_MIB, ports: [{ hostPort: port, guestPort: 80 }] } });
    const vm = await waitFor(async () => {
      const v = await c.client.call('getVm', { params: { name } });
      return v.phase === 'Running' && v.guestReadyAt ? v : undefined;
    }, 90_000, 'guest running');
    const before = await waitFor(() => guestInfo(port).catch(() => undefined), 30_000, '/info');

    // Idle: the balloon inflates (the guest keeps less than it was configured with).
    const inflated = await waitFor(async () => {
      const mib = await balloonMiB(name);
      return mib <= GUEST_MIB - 100 ? mib : undefined;
    }, 90_000, 'the balloon to take memory from the idle guest', 500);
    console.log(`idle guest: balloon left it ${inflated} of ${GUEST_MIB} MiB`);

    // The guest now fills most of its memory: the policy deflates the balloon as it runs short.
    expect((await guestGet(port, `/dirty?mib=${FILL_MIB}&rate=20`)).status).toBe(200);
    await waitFor(async () => ((await guestGet(port, '/dirty')).json as { writtenMiB: number }).writtenMiB >= FILL_MIB, 120_000, 'the guest to fill its buffer', 500);
    const given = await waitFor(async () => {
      const mib = await balloonMiB(name);
      return mib >= Math.min(GUEST_MIB, inflated + 48) ? mib : undefined;
    }, 90_000, 'the balloon to give memory back', 500);
    console.log(`busy guest: balloon gave it back up to ${given} of ${GUEST_MIB} MiB`);

    const verify = await guestGet(port, '/dirty?verify=1', 120_000);
    expect(verify.json).toMatchObject({ checkedMiB: FILL_MIB, badMiB: 0 });
    const after = await guestInfo(port);
    expect(after.bootId).toBe(before.bootId);
    const serial = readFileSync(join(c.agentDir(0), 'vms', vm.id, 'serial.log'), 'utf8');
    expect(serial).not.toMatch(/Out of memory|oom-kill|invoked oom-killer/i);
    await guestGet(port, '/dirty?stop=1');

    // Each decision reached the controller's event stream, with VM, host, old and new target and the policy's reason.
    const decisions = await waitFor(() => {
      const seen = events.filter((e) => e.kind === 'vm.balloon' && e.resource === name);
      return seen.some((e) => (e.data as { kind: string }).kind.startsWith('deflate')) ? seen : undefined;
    }, 30_000, 'the balloon decisions as controller events', 500);
    ws.close();
    const data = decisions.map((e) => e.data as { id: string; host: string; kind: string; fromMiB: number; targetMiB: number; reason: string; seq: number });
    console.log(decisions.map((e) => e.message).join('\n'));
    expect(data[0]).toMatchObject({ id: vm.id, host: 'h0', kind: 'inflate-pressure', fromMiB: GUEST_MIB, reason: expect.stringMatching(/host available 600 MiB < 15% of/) });
    expect(data[0]!.targetMiB).toBeLessThan(GUEST_MIB);
    expect(data.some((d) => d.kind === 'deflate-needy' && d.targetMiB > d.fromMiB)).toBe(true);
    expect(new Set(data.map((d) => d.seq)).size).toBe(data.length); // each published once
    await c.client.waitJob((await c.client.call('deleteVm', { params: { name } })).job.id);
  }, 400_000);
});
