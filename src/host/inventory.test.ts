import dgram from 'node:dgram';
import net from 'node:net';
import os from 'node:os';
import { describe, expect, it } from 'vitest';
import { Value } from 'typebox/value';
import { HostInventory } from '../api/resources.js';
import { agentVersion, hostInventory, hostTotals, parseCpuSeconds, parseRssBytes, portsInUse, processStats } from './inventory.js';

describe('host inventory', () => {
  it('describes this host', async () => {
    const inv = await hostInventory({ stateDir: os.tmpdir(), kvm: false, qemuVersion: '7.2.0' });
    expect(inv.cpus).toBeGreaterThan(0);
    expect(inv.memoryMiB).toBeGreaterThan(0);
    expect(inv.freeDiskBytes).toBeGreaterThan(0);
    expect(inv.hostname).toBe(os.hostname());
    expect(inv.agentVersion).toMatch(/^\d+\.\d+\.\d+/);
    expect(agentVersion()).toBe(inv.agentVersion);
  });

  it('reports no reservation by default, and the one it is given', async () => {
    const none = await hostInventory({ stateDir: os.tmpdir(), kvm: false, qemuVersion: '7.2.0' });
    expect(none).toMatchObject({ reservedCpus: 0, reservedMemoryMiB: 0 });
    const held = await hostInventory({ stateDir: os.tmpdir(), kvm: false, qemuVersion: '7.2.0', reserved: { cpus: 1, memoryMiB: 1536 } });
    expect(held).toMatchObject({ reservedCpus: 1, reservedMemoryMiB: 1536, cpus: hostTotals().cpus, memoryMiB: hostTotals().memoryMiB });
    expect(Value.Check(HostInventory, held)).toBe(true);
  });

  it('still validates an inventory without reservations (agents from before them)', () => {
    const old = { hostname: 'h', cpus: 2, memoryMiB: 4096, kvm: false, qemuVersion: '7.2.0', freeDiskBytes: 1, agentVersion: '0.1.0' };
    expect(Value.Check(HostInventory, old)).toBe(true);
    expect(Value.Check(HostInventory, { ...old, reservedMemoryMiB: -1 })).toBe(false);
    expect(Value.Check(HostInventory, { ...old, reservedCpus: 0.5 })).toBe(false);
  });
});

describe('/proc parsing', () => {
  it('reads utime+stime even when the command name holds spaces and parentheses', () => {
    const stat = '1234 (qemu (x) y) S 1 1234 1234 0 -1 4194560 100 0 0 0 250 50 0 0 20 0 3 0 100 1000 200';
    expect(parseCpuSeconds(stat)).toBe(3);
  });
  it('reads VmRSS in bytes, 0 when missing', () => {
    expect(parseRssBytes('Name:\tqemu\nVmRSS:\t  2048 kB\nThreads: 3\n')).toBe(2048 * 1024);
    expect(parseRssBytes('Name:\tzombie\n')).toBe(0);
  });
  it('gives stats of a live process and null for a gone one', () => {
    const own = processStats(process.pid);
    expect(own?.rssBytes).toBeGreaterThan(0);
    expect(own?.cpuSeconds).toBeGreaterThanOrEqual(0);
    expect(processStats(2 ** 22 + 7)).toBeNull();
  });
});

describe('portsInUse', () => {
  it('tells taken TCP and UDP ports from free ones', async () => {
    const tcp = net.createServer();
    await new Promise<void>((r) => tcp.listen(0, '127.0.0.1', () => r()));
    const tcpPort = (tcp.address() as net.AddressInfo).port;
    const udp = dgram.createSocket('udp4');
    await new Promise<void>((r) => udp.bind(0, '127.0.0.1', () => r()));
    const udpPort = udp.address().port;
    try {
      const busy = await portsInUse([
        { hostAddress: '127.0.0.1', hostPort: tcpPort, proto: 'tcp' },
        { hostAddress: '127.0.0.1', hostPort: udpPort, proto: 'udp' },
      ]);
      expect(busy.sort()).toEqual([tcpPort, udpPort].sort());
    } finally {
      tcp.close();
      udp.close();
    }
    // Once released, both are free again.
    const after = await portsInUse([
      { hostAddress: '127.0.0.1', hostPort: tcpPort, proto: 'tcp' },
      { hostAddress: '127.0.0.1', hostPort: udpPort, proto: 'udp' },
    ]);
    expect(after).toEqual([]);
  });
});
