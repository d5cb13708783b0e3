import { describe, expect, it } from 'vitest';
import { planPlacement, placementSnapshot } from './plan-placement.js';
import type { HostRecord, VmRecord } from './records.js';

const at = '2026-01-01T00:00:00.000Z';
function host(id: string, memoryMiB: number): HostRecord {
  return { id, name: `name-${id}`, state: 'Ready', agentUrl: 'http://x', inventory: { hostname: id, cpus: 4, memoryMiB, kvm: false, qemuVersion: '7.2', freeDiskBytes: 1e12, agentVersion: '0' } } as unknown as HostRecord;
}
function vm(id: string, hostId: string, memoryMiB: number, phase: VmRecord['phase'] = 'Running'): VmRecord {
  const spec = { image: 'tiny', cpus: 1, maxCpus: 1, memoryMiB, maxMemoryMiB: memoryMiB, volumes: [], ports: [], mac: '52:54:00:00:00:01' };
  return { id, name: id, spec, phase, intent: 'running', hostId, epoch: 1, rebootSeq: 0, forceStop: false, createdAt: at, updatedAt: at };
}

describe('placement by the planner', () => {
  it('spreads: the new VM goes to the least loaded host; stopped VMs hold nothing', () => {
    const hosts = [host('a', 4096), host('b', 4096)];
    const vms = [vm('x', 'a', 1024), vm('y', 'b', 2048), vm('z', 'a', 2048, 'Stopped')];
    const r = planPlacement(hosts, vms, { cpus: 1, memoryMiB: 512 });
    expect('host' in r && r.host.id).toBe('a');
    expect(placementSnapshot(hosts, vms, { cpus: 1, memoryMiB: 512 }).vms.map((v) => v.id)).toEqual(['x', 'y', '(new VM)']);
  });

  it('says why no host can take it, by host name', () => {
    const r = planPlacement([host('a', 1024)], [vm('x', 'a', 768)], { cpus: 1, memoryMiB: 512 });
    expect('why' in r && r.why).toMatch(/name-a: needs 512 MiB; these hosts have at most 256 MiB free/);
  });
});
