// `drover pool show`, the usage columns of `drover host list`, and
// `drover host remove`, in-process against the fake controller.
import { beforeEach, describe, expect, it } from 'vitest';
import type { Pool } from '../api/pool.js';
import { percent } from './commands/pool.js';
import { FakeApi, reply, useFakeApi } from './test-support/fake-api.js';
import { run, sampleHost } from './test-support/samples.js';

const POOL: Pool = {
  hosts: { total: 3, schedulable: 2, byState: { Joining: 0, Ready: 2, Unreachable: 0, Maintenance: 0, Standby: 0, Left: 1, Fenced: 0, Recovering: 0 } },
  cpus: { total: 4, reserved: 0, used: 3, free: 1 },
  memoryMiB: { total: 49152, reserved: 1024, used: 768, free: 47360 },
  vms: { total: 3, active: 2, activeOutsidePool: 0 },
};
const USAGE = { cpus: 1, memoryMiB: 256, vms: 2, activeVms: 1 };

describe('drover pool show, host list usage, host remove', () => {
  let api: FakeApi;
  let env: Record<string, string>;
  useFakeApi((a, e) => ([api, env] = [a, e]));
  beforeEach(() => {
    api.on('getPool', () => POOL);
    api.on('listHosts', () => [sampleHost({ usage: USAGE }), sampleHost({ id: 'host-2', name: 'h9', state: 'Left', usage: { cpus: 0, memoryMiB: 0, vms: 0, activeVms: 0 } })]);
  });

  it('shows hosts by state and the CPU and memory of the pool with percentages', async () => {
    const r = await run(['pool', 'show'], { env });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('Hosts: 3; the pool is the 2 Ready one(s)');
    expect(r.stdout).toMatch(/STATE\s+HOSTS\nReady\s+2\nLeft\s+1\n/);
    expect(r.stdout).toMatch(/RESOURCE\s+TOTAL\s+RESERVED\s+USED\s+FREE/);
    expect(r.stdout).toMatch(/CPUs\s+4\s+0 \(0%\)\s+3 \(75%\)\s+1 \(25%\)/);
    expect(r.stdout).toMatch(/Memory\s+48 GiB\s+1 GiB \(2%\)\s+768 MiB \(2%\)\s+46\.3 GiB \(96%\)/);
    expect(r.stdout).toContain('VMs: 2 of 3 use resources\n');
    expect(r.stdout).not.toContain('Joining');
  });

  it('says so when vCPUs are overcommitted and when active VMs are outside the pool', async () => {
    api.on('getPool', () => ({ ...POOL, cpus: { total: 2, reserved: 0, used: 6, free: 0 }, vms: { total: 4, active: 4, activeOutsidePool: 1 } }));
    const r = await run(['pool', 'show'], { env });
    expect(r.stdout).toMatch(/CPUs\s+2\s+0 \(0%\)\s+6 \(300%\)\s+0 \(0%\)/);
    expect(r.stdout).toContain('VMs: 4 of 4 use resources; 1 of them on hosts that are not Ready');
    expect(r.stdout).toContain('vCPUs are overcommitted');
  });

  it('prints the API object with --json', async () => {
    const r = await run(['pool', 'show', '--json'], { env });
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual(POOL);
  });

  it('writes "-" for percentages of an empty pool', () => {
    expect(percent(0, 0)).toBe('-');
    expect(percent(1, 3)).toBe('33%');
  });

  it('lists hosts with CPU and memory used of total and their VMs; Left hosts only with --all', async () => {
    const r = await run(['host', 'list'], { env });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/CPU USED\s+MEMORY USED\s+VMS/);
    expect(r.stdout).toMatch(/h0\s+Ready\s+2\s+24 GiB\s+none\s+no \(TCG\)\s+1\/2\s+256 MiB\/24 GiB\s+2\s/);
    expect(r.stdout).not.toContain('h9');
    expect(r.stdout).toContain('(1 removed host(s) not shown; --all lists them)');
    const all = await run(['host', 'list', '--all'], { env });
    expect(all.stdout).toMatch(/h9\s+Left/);
    expect(all.stdout).not.toContain('not shown');
    const json = await run(['host', 'list', '--json'], { env });
    expect((JSON.parse(json.stdout) as Array<{ name: string }>).map((h) => h.name)).toEqual(['h0']);
  });

  it('host list and host show say what each host holds back for itself (agent --reserve-cpus, --reserve-memory)', async () => {
    const inventory = sampleHost().inventory!;
    api.on('listHosts', () => [
      sampleHost({ inventory: { ...inventory, reservedCpus: 1, reservedMemoryMiB: 2048 } }),
      sampleHost({ id: 'host-2', name: 'h2', inventory: { ...inventory, reservedCpus: 0, reservedMemoryMiB: 1536 } }),
      sampleHost({ id: 'host-3', name: 'h3', inventory: { ...inventory, reservedCpus: 2 } }),
    ]);
    const r = await run(['host', 'list'], { env });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/MEMORY\s+RESERVED\s+KVM/);
    expect(r.stdout).toMatch(/h0\s+Ready\s+2\s+24 GiB\s+1 CPU, 2 GiB\s+no \(TCG\)/);
    expect(r.stdout).toMatch(/h2\s+Ready\s+2\s+24 GiB\s+1\.5 GiB\s+no \(TCG\)/);
    expect(r.stdout).toMatch(/h3\s+Ready\s+2\s+24 GiB\s+2 CPUs\s+no \(TCG\)/);
    api.on('getHost', () => sampleHost({ inventory: { ...inventory, reservedCpus: 1, reservedMemoryMiB: 2048 } }));
    api.on('listVms', () => []);
    const show = await run(['host', 'show', 'h0'], { env });
    expect(show.stdout).toMatch(/\nReserved:\s+1 CPU, 2 GiB\n/);
  });

  it('says whether HA failover is on and whether HA admission holds', async () => {
    api.on('getPool', () => ({ ...POOL, ha: { failover: true, ioTimeoutMs: 1000, heartbeatSuspectMs: 3000, expireAfterMs: 6250, failures: 1, admission: { holds: true, spareMemoryMiB: 2048, spareCpus: 3 } } }));
    const on = await run(['pool', 'show'], { env });
    expect(on.stdout).toContain('HA failover: on (a host silent 3.0 s whose lease stays unchanged 6.3 s is failed over; I/O timeout 1000 ms)\n');
    expect(on.stdout).toContain('HA admission (room for 1 failed host(s)): holds, 2 GiB and 3 vCPUs to spare');
    api.on('getPool', () => ({ ...POOL, ha: { failover: false, reason: 'HA failover is off: the controller runs without --shared-pool', failures: 2, admission: { holds: false, spareMemoryMiB: -512, spareCpus: 1 } } }));
    const off = await run(['pool', 'show'], { env });
    expect(off.stdout).toContain('HA failover: off (HA failover is off: the controller runs without --shared-pool)');
    expect(off.stdout).toContain('HA admission (room for 2 failed host(s)): broken: short by 512 MiB and 0 vCPUs (new HA VMs are refused)');
  });

  it('host list shows each host\'s HA verdict while failover is on, and says so when it is off', async () => {
    api.on('listHosts', () => [
      sampleHost({ ha: { verdict: 'alive', reason: 'it reports and renews its lease' } }),
      sampleHost({ id: 'host-2', name: 'h2', state: 'Fenced', failedAt: '2026-01-01T00:00:00.000Z', failoverJobId: 'job-9', ha: { verdict: 'fenced', reason: 'declared dead' } }),
      sampleHost({ id: 'host-3', name: 'h3', ha: { verdict: 'isolated', reason: 'silent for 5.0 s, but its lease is still renewed' } }),
    ]);
    const r = await run(['host', 'list'], { env });
    expect(r.stdout).toMatch(/LABELS\s+HA\n/);
    expect(r.stdout).toMatch(/h2\s+Fenced\s.*\sfenced\n/);
    expect(r.stdout).toContain('h3: isolated, silent for 5.0 s, but its lease is still renewed\n');
    api.on('listHosts', () => [sampleHost({ ha: { verdict: 'off', reason: 'HA failover is off: the controller runs without --shared-pool' } })]);
    const off = await run(['host', 'list'], { env });
    expect(off.stdout).not.toMatch(/\sHA\n/);
    expect(off.stdout).toContain('HA failover is off: the controller runs without --shared-pool\n');
    api.on('getHost', () => sampleHost({ name: 'h2', state: 'Fenced', failedAt: '2026-01-01T00:00:00.000Z', failoverJobId: 'job-9', ha: { verdict: 'fenced', reason: 'declared dead' } }));
    api.on('listVms', () => []);
    const show = await run(['host', 'show', 'h2'], { env });
    expect(show.stdout).toMatch(/HA:\s+fenced: declared dead\nFailed at:\s+2026-01-01T00:00:00\.000Z \(failover job job-9\)\n/);
  });

  it('removes a host and says what that means', async () => {
    api.on('removeHost', () => sampleHost({ name: 'h1', state: 'Left', usage: { cpus: 0, memoryMiB: 0, vms: 0, activeVms: 0 } }));
    const r = await run(['host', 'remove', 'h1'], { env });
    expect(r.code, r.stderr).toBe(0);
    expect(api.requests.find((q) => q.route === 'removeHost')).toMatchObject({ method: 'DELETE', params: { name: 'h1' } });
    expect(r.stdout).toBe('Host h1 removed: it is Left, and its agent can no longer report or join under this name\n');
  });

  it('mentions the stopped VMs that stay on a removed Unreachable host', async () => {
    api.on('removeHost', () => sampleHost({ name: 'h1', state: 'Left', usage: { cpus: 0, memoryMiB: 0, vms: 2, activeVms: 0 } }));
    const r = await run(['host', 'remove', 'h1'], { env });
    expect(r.stdout).toContain('its 2 stopped VM(s) stay recorded');
  });

  it('prints the refusal naming the VMs and exits 1', async () => {
    const message = 'host h0 still has 1 VM(s): web (Running); move them away (drover host maintenance h0) or delete them first';
    api.on('removeHost', () => reply(409, { error: { code: 'conflict', message, field: 'name' } }));
    const r = await run(['host', 'remove', 'h0'], { env });
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(`error: ${message}\n  field: name\n`);
    expect(r.stdout).toBe('');
  });

  it('refuses an empty or missing HOST with exit 2 and sends nothing', async () => {
    const empty = await run(['host', 'remove', ' '], { env });
    expect(empty.code).toBe(2);
    expect(empty.stderr).toContain('field: HOST');
    expect((await run(['host', 'remove'], { env })).code).toBe(2);
    expect(api.count('removeHost')).toBe(0);
  });
});
