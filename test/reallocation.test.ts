// Reallocation by need on real QEMU guests (docs/automation.md, "Grow"): the
// load of one VM rises until its host is short; the automation loop, with
// grow automatic, moves it by live migration to a host with room and grows
// it there (vCPU hot-add, no reboot), and every step is an event that says
// why. h0 keeps only one of the machine's cores for VMs (--reserve-cpus), so
// a VM busy on its one vCPU leaves it no room to grow; h1 has two cores.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import type { AutomationPass, Recommendation } from '../src/api/automation.js';
import type { DroverEvent } from '../src/api/resources.js';
import { freePort, guestGet, guestInfo, startCluster, waitFor, type Cluster } from './harness.js';

let c: Cluster;
const events: DroverEvent[] = [];
let ws: WebSocket | undefined;

beforeAll(async () => {
  c = await startCluster({ agents: 2, agentArgsFor: (i) => (i === 0 ? ['--reserve-cpus', '1'] : []) });
  ws = new WebSocket(c.client.wsUrl('events'));
  ws.on('message', (d) => events.push(JSON.parse(String(d)) as DroverEvent));
  await new Promise<void>((resolve, reject) => ws!.once('open', () => resolve()).once('error', reject));
}, 180_000);

afterAll(async () => {
  ws?.close();
  await c?.stop();
});

const NAME = 'app';
/** Grow a VM busy on 60% of its vCPUs or more: a spinning TCG vCPU on a shared machine shows well above it, an idle one far below. */
const GROW_AT = 0.6;

/** The VM's measured CPU use as the planner sees it (the agents' reports), once it is at least `atLeast`. */
function busyAt(atLeast: number, hostName: string): Promise<number> {
  return waitFor(async () => {
    const [s, hosts] = await Promise.all([c.client.call('getSnapshot'), c.client.call('listHosts')]);
    const vm = s.vms.find((v) => v.name === NAME);
    const on = hosts.find((h) => h.id === vm?.host)?.name;
    return vm?.cpuUsage !== undefined && vm.cpuUsage >= atLeast && on === hostName ? vm.cpuUsage : undefined;
  }, 90_000, `${NAME} busy on ${hostName} in the snapshot`, 500);
}

const growActions = (p: AutomationPass): Recommendation[] => p.recommendations.filter((r) => r.goal === 'grow');

describe('reallocation by need', () => {
  it('a VM whose load rises until its host is short is moved to a host with room and grown there, each step explained', async () => {
    await c.client.call('setAutomation', { body: { balance: 'off', power: 'off', grow: 'automatic', growAt: GROW_AT } });
    const port = await freePort();
    await c.client.call('createVm', { body: { name: NAME, image: 'tiny', host: 'h0', cpus: 1, maxCpus: 2, memoryMiB: 256, storage: 'shared', ports: [{ hostPort: port, guestPort: 80 }] } });
    const before = await waitFor(() => guestInfo(port, c.forwardAddress(0)).catch(() => undefined), 90_000, `${NAME} /info`);
    expect(before.cpusOnline).toBe(1);
    const hosts = Object.fromEntries((await c.client.call('listHosts')).map((h) => [h.name, h.id]));

    // Idle (once the boot's own CPU use has passed): nothing to grow.
    await waitFor(async () => {
      const u = (await c.client.call('getSnapshot')).vms.find((v) => v.name === NAME)?.cpuUsage;
      return u !== undefined && u < GROW_AT / 2;
    }, 90_000, `${NAME} idle after its boot`, 500);
    const idle = await c.client.call('runAutomation', { body: {} });
    expect(idle.grow).toBe('automatic');
    expect(growActions(idle)).toEqual([]);

    // The load rises: the guest spins its vCPU.
    expect((await guestGet(port, '/burn?seconds=1200', 3000, c.forwardAddress(0))).status).toBe(200);
    const usage = await busyAt(GROW_AT, 'h0');

    // h0 has one core for VMs: growing the VM there would overload it. It moves to h1 (wave 0), to grow there (wave 1).
    const first = await c.client.call('runAutomation', { body: {} });
    const [move, later] = growActions(first);
    expect(growActions(first)).toHaveLength(2);
    expect(move).toMatchObject({ level: 'automatic', state: 'started', wave: 0, action: { kind: 'migrate', vm: expect.any(String), from: hosts.h0, to: hosts.h1 }, summary: `migrate ${NAME} from h0 to h1` });
    expect(move!.reason).toMatch(new RegExp(`^${NAME} is busy on [0-9.]+ of its 1 vCPU \\(at or above 60%\\); h0 has no room for 2 \\(CPU load [0-9.]+ of 1 cores, limit 80%\\): move it to h1, which has, then grow it there$`));
    expect(later).toMatchObject({ state: 'deferred', wave: 1, action: { kind: 'resize', host: hosts.h1, cpus: 2 } });
    expect(usage).toBeGreaterThanOrEqual(GROW_AT);
    const m = await waitFor(async () => {
      const x = await c.client.call('getMigration', { params: { id: move!.migrationId! } });
      return ['completed', 'failed', 'cancelled'].includes(x.state) ? x : undefined;
    }, 180_000, 'the migration');
    expect(m.state, m.error).toBe('completed');

    // On h1 it is still busy, and h1 has room: the next pass grows it where it runs.
    await busyAt(GROW_AT, 'h1');
    const second = await c.client.call('runAutomation', { body: {} });
    expect(growActions(second)).toHaveLength(1);
    const grow = growActions(second)[0]!;
    expect(grow).toMatchObject({ state: 'started', action: { kind: 'resize', host: hosts.h1, cpus: 2 }, summary: `grow ${NAME} to 2 vCPUs on h1` });
    expect(grow.reason).toMatch(new RegExp(`^${NAME} is busy on [0-9.]+ of its 1 vCPU \\(at or above 60%\\); h1 has room: grow it there to 2 vCPUs$`));
    const job = await c.client.waitJob(grow.jobId!);
    expect(job.state, JSON.stringify(job.error)).toBe('succeeded');
    const after = await waitFor(async () => {
      const i = await guestInfo(port, c.forwardAddress(1)).catch(() => undefined);
      return i?.cpusOnline === 2 ? i : undefined;
    }, 60_000, 'the guest to show 2 vCPUs', 250);
    expect(after.bootId, 'no reboot').toBe(before.bootId);
    expect((await c.client.call('getVm', { params: { name: NAME } })).spec.cpus).toBe(2);

    // Every automatic step is an event with its reason.
    const decided = events.filter((e) => e.kind === 'automation' && e.resource === NAME).map((e) => e.message);
    expect(decided).toEqual([
      expect.stringMatching(new RegExp(`^automatic \\(grow\\): migrate ${NAME} from h0 to h1: started: migration \\S+ \\(job \\S+\\) started; ${NAME} is busy on .* h0 has no room for 2`)),
      expect.stringMatching(/^automatic \(grow\): grow app to 2 vCPUs on h1: deferred: wave 1: it waits for the moves before it/),
      expect.stringMatching(new RegExp(`^automatic \\(grow\\): grow ${NAME} to 2 vCPUs on h1: started: resize of ${NAME} to 2 vCPUs \\(job \\S+\\) started; ${NAME} is busy on .* h1 has room`)),
    ]);
    expect(events.some((e) => e.kind === 'vm.resized' && e.resource === NAME)).toBe(true);

    // Grown, it is no longer short: the next pass leaves it (and its cooldown would too).
    const third = await c.client.call('runAutomation', { body: {} });
    expect(growActions(third)).toEqual([]);
    await guestGet(port, '/burn?stop=1', 3000, c.forwardAddress(1));
  }, 600_000);
});
