import { describe, expect, it } from 'vitest';
import { findPortClash, freeMemoryMiB, mostFreeMemory } from './placement.js';
import type { HostRecord, VmRecord } from './records.js';

const host = (id: string, memoryMiB: number): HostRecord => ({
  id, name: id, state: 'Ready', agentUrl: 'http://x', createdAt: 't', credentialHash: '', credentialGeneration: 1,
  inventory: { hostname: id, cpus: 2, memoryMiB, kvm: false, qemuVersion: '7', freeDiskBytes: 1, agentVersion: '0' },
});
const vm = (name: string, hostId: string, memoryMiB: number, phase: VmRecord['phase'], hostPort?: number): VmRecord => ({
  id: name, name, phase, intent: 'running', hostId, epoch: 1, rebootSeq: 0, forceStop: false, createdAt: 't', updatedAt: 't',
  spec: { image: 'tiny', cpus: 1, maxCpus: 1, memoryMiB, maxMemoryMiB: memoryMiB, volumes: [], mac: 'm', ports: hostPort ? [{ proto: 'tcp', hostAddress: '127.0.0.1', hostPort, guestPort: 80 }] : [] },
});

describe('placement', () => {
  it('counts the memory of running and pending VMs, not of stopped ones', () => {
    const vms = [vm('a', 'h1', 512, 'Running'), vm('b', 'h1', 256, 'Pending'), vm('c', 'h1', 1024, 'Stopped'), vm('d', 'h2', 100, 'Running')];
    expect(freeMemoryMiB(host('h1', 2048), vms)).toBe(2048 - 768);
  });

  it('leaves out what the host holds back for itself (agent --reserve-memory)', () => {
    const vms = [vm('a', 'h1', 512, 'Running')];
    const reserved = (mem: number, reservedMemoryMiB: number) => {
      const h = host('h1', mem);
      return { ...h, inventory: { ...h.inventory!, reservedMemoryMiB } };
    };
    expect(freeMemoryMiB(reserved(2048, 1024), vms)).toBe(2048 - 1024 - 512);
    expect(freeMemoryMiB(reserved(2048, 0), vms)).toBe(2048 - 512);
    expect(mostFreeMemory([reserved(4096, 3072), host('h2', 2048)], vms)?.host.id).toBe('h2');
  });

  it('picks the host with the most free memory', () => {
    const vms = [vm('a', 'h1', 1500, 'Running')];
    expect(mostFreeMemory([host('h1', 2048), host('h2', 1024)], vms)?.host.id).toBe('h2');
  });

  it('finds clashes with other VMs, the agent-reported ports, and repeats', () => {
    const p = (hostPort: number) => ({ proto: 'tcp' as const, hostAddress: '127.0.0.1', hostPort, guestPort: 80 });
    const vms = [vm('web', 'h1', 1, 'Running', 8080)];
    expect(findPortClash([p(9000), p(8080)], 'h1', vms, [])).toMatchObject({ index: 1, message: expect.stringContaining('web') });
    expect(findPortClash([p(8080)], 'h2', vms, [])).toBeUndefined();
    expect(findPortClash([p(7000)], 'h1', vms, [7000])?.index).toBe(0);
    expect(findPortClash([p(7001), p(7001)], 'h1', vms, [])?.index).toBe(1);
  });
});
