// The evacuation of a host (pure part): the planner's evacuate plan on the
// live snapshot, with what only the controller knows (images) as exclusions.
import { describe, expect, it } from 'vitest';
import type { HostInventory } from '../api/resources.js';
import { buildClusterSnapshot } from './cluster-snapshot.js';
import { evacuationMoves } from './evacuation-plan.js';
import type { ClusterView } from './migration-start.js';
import type { GroupRecord, HostRecord, ImageRecord, VmRecord } from './records.js';

const at = '2026-01-01T00:00:00.000Z';
const inventory: HostInventory = { hostname: 'x', cpus: 4, memoryMiB: 4096, kvm: false, qemuVersion: '7.2.0', freeDiskBytes: 1e10, agentVersion: 't' };
const host = (id: string, state: HostRecord['state'] = 'Ready'): HostRecord => ({ id, name: id, state, agentUrl: 'http://127.0.0.1:1', createdAt: at, credentialHash: '', credentialGeneration: 1, inventory });
const vm = (id: string, hostId: string, memoryMiB = 256): VmRecord => ({
  id, name: id, phase: 'Running', intent: 'running', hostId, epoch: 1, rebootSeq: 0, forceStop: false, createdAt: at, updatedAt: at,
  spec: { image: 'tiny', cpus: 1, maxCpus: 2, memoryMiB, maxMemoryMiB: memoryMiB, volumes: [], ports: [], mac: '52:54:00:00:00:01' },
});
const group = (name: string, kind: GroupRecord['kind'], vmIds: string[]): GroupRecord => ({ name, kind, strength: 'must', vmIds, createdAt: at, updatedAt: at });
const image = (hosts: string[]): ImageRecord => ({ name: 'tiny', kind: 'kernel', source: 'built', sizeBytes: 1, hosts, createdAt: at });

function evacuate(vms: VmRecord[], groups: GroupRecord[], imageHosts = ['h1', 'h2', 'h3']) {
  const hosts = [host('h1', 'Maintenance'), host('h2'), host('h3')];
  const live = buildClusterSnapshot({ hosts, vms, groups, migrations: [], volumes: [], usage: () => ({}), nowMs: 0 });
  const c: ClusterView = { hosts, vms, images: [image(imageHosts)], usedPorts: () => [], snapshot: live };
  const moves = evacuationMoves(live, c, 'h1', vms.filter((v) => v.hostId === 'h1'));
  return moves.map((m) => ('to' in m ? `${m.vm.name} -> ${m.to}` : `${m.vm.name}: ${m.why}`));
}

describe('evacuation plan', () => {
  const vms = [vm('s1', 'h1'), vm('s2', 'h2'), vm('heavy', 'h3', 3000)];

  it('spreads: without a group the emptier host takes the VM', () => {
    expect(evacuate(vms, [])).toEqual(['s1 -> h2']);
  });

  it('keeps a must anti-affinity group apart', () => {
    expect(evacuate(vms, [group('pair', 'anti-affinity', ['s1', 's2'])])).toEqual(['s1 -> h3']);
  });

  it('says why a VM cannot move, host by host, with the controller\'s reasons', () => {
    expect(evacuate(vms, [group('pair', 'anti-affinity', ['s1', 's2'])], ['h1', 'h2'])).toEqual([
      's1: no host can take it: h1: the host being emptied | h2: already runs a VM of must-anti-affinity group pair | h3: it does not hold image tiny (build or import it there)',
    ]);
  });

  it('moves VMs that must share a host together', () => {
    const together = [vm('t1', 'h1'), vm('t2', 'h1'), vm('x', 'h2', 2048)];
    expect(evacuate(together, [group('duo', 'affinity', ['t1', 't2'])])).toEqual(['t1 -> h3', 't2 -> h3']);
  });
});
