import dgram from 'node:dgram';
import net from 'node:net';
import os from 'node:os';
import { describe, expect, it } from 'vitest';
import { agentVersion, hostInventory, parseCpuSeconds, parseRssBytes, portsInUse, processStats } from './inventory.js';

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
