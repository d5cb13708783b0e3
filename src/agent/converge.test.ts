// The supervisor without booting a guest: volumes from a hand-made image,
// removal, a start that fails (not retried for its epoch), and reports.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pino from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { VmAssignment } from '../api/agent-protocol.js';
import { runQemuImg } from '../host/storage.js';
import { writeManifest } from '../image/manifest.js';
import type { HostCapsResolved } from '../qemu/vm-spec.js';
import { Agent } from './agent.js';
import type { AgentContext } from './agent-context.js';
import { agentPaths, loadVmFile, vmDir, volumePath } from './state-files.js';

const MiB = 1024 ** 2;
const caps: HostCapsResolved = { kvm: false, sandbox: false, qemuBinary: '/nonexistent/qemu', qemuVersion: '7.2.0', balloonFreePageReporting: false, odirect: () => false };

function assignment(over: Partial<VmAssignment> = {}): VmAssignment {
  return {
    id: 'abcdef0123456789',
    name: 'web',
    spec: {
      image: 'base', cpus: 1, maxCpus: 1, memoryMiB: 256, maxMemoryMiB: 256, mac: '52:54:00:00:00:01', ports: [],
      volumes: [
        { id: 'abcdef0123456789-boot', role: 'boot', sizeBytes: 32 * MiB, backingImage: 'base' },
        { id: 'abcdef0123456789-data1', role: 'data', sizeBytes: 8 * MiB },
      ],
    },
    power: 'stopped', epoch: 0, rebootSeq: 0, forceStop: false,
    ...over,
  };
}

async function until<T>(fn: () => Promise<T | undefined> | T | undefined, what: string): Promise<T> {
  for (let i = 0; i < 200; i++) {
    const v = await fn();
    if (v !== undefined) return v;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`timed out waiting for ${what}`);
}

describe('VmSupervisor without a guest', () => {
  let root: string;
  let agent: Agent;
  let changes = 0;

  beforeEach(async () => {
    root = fs.mkdtempSync(path.join(os.tmpdir(), 'drover-converge-'));
    const images = path.join(root, 'images');
    fs.mkdirSync(path.join(images, 'base'), { recursive: true });
    await runQemuImg(['create', '-q', '-f', 'qcow2', path.join(images, 'base', 'disk.qcow2'), String(16 * MiB)], 'base');
    await writeManifest(path.join(images, 'base'), { name: 'base', kind: 'disk', disk: 'disk.qcow2', diskFormat: 'qcow2', files: {}, createdAt: '2024-01-01T00:00:00Z', source: 'imported' });
    const ctx: AgentContext = {
      paths: agentPaths(path.join(root, 'state')), imagesDir: images, caps, stopGraceMs: 1000, log: pino({ level: 'silent' }),
      changed: () => changes++, removed: (id) => agent.removed(id),
    };
    agent = new Agent(ctx);
  });
  afterEach(() => fs.rmSync(root, { recursive: true, force: true }));

  it('creates the volumes of a stopped VM and reports them', async () => {
    const a = assignment();
    agent.apply([a]);
    const paths = agent.ctx.paths;
    const report = await until(async () => {
      const [r] = await agent.vmReports();
      return r && r.volumes.length === 2 ? r : undefined;
    }, 'volumes');
    expect(report).toMatchObject({ id: a.id, state: 'stopped', epoch: 0, rebootSeq: 0 });
    expect(report.error).toBeUndefined();
    const boot = report.volumes.find((v) => v.id.endsWith('-boot'))!;
    expect(boot).toMatchObject({ path: volumePath(paths, a.id, a.spec.volumes[0]!.id), virtualSizeBytes: 32 * MiB });
    expect(report.volumes.find((v) => v.id.endsWith('-data1'))!.virtualSizeBytes).toBe(8 * MiB);
    expect(loadVmFile(paths, a.id)?.assignment).toEqual(a);
    expect(changes).toBeGreaterThan(0);
  });

  it('removes everything for absent, and the VM leaves the reports', async () => {
    const a = assignment();
    agent.apply([a]);
    await until(async () => ((await agent.vmReports())[0]?.volumes.length === 2 ? true : undefined), 'volumes');
    agent.apply([{ ...a, power: 'absent' }]);
    await until(async () => ((await agent.vmReports()).length === 0 ? true : undefined), 'removal');
    expect(fs.existsSync(vmDir(agent.ctx.paths, a.id))).toBe(false);
    expect(fs.existsSync(path.dirname(volumePath(agent.ctx.paths, a.id, 'x')))).toBe(false);
    // Absent for a VM this host never had: nothing happens.
    agent.apply([{ ...a, id: 'fedcba9876543210', power: 'absent' }]);
    expect(await agent.vmReports()).toEqual([]);
  });

  it('reports a failed start as crashed with the error, and does not retry that epoch', async () => {
    const a = assignment({ power: 'running', epoch: 1 });
    agent.apply([a]);
    const r = await until(async () => {
      const [x] = await agent.vmReports();
      return x?.state === 'crashed' ? x : undefined;
    }, 'crash');
    expect(r.epoch).toBe(1);
    expect(r.error).toMatch(/qemu/i);
    expect(r.reason).toBe(r.error);
    const file = loadVmFile(agent.ctx.paths, a.id)!;
    expect(file).toMatchObject({ lastStartedEpoch: 1, running: false, startError: { epoch: 1 } });
    agent.apply([a]);
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(loadVmFile(agent.ctx.paths, a.id)!.lastStartedEpoch).toBe(1);
    // Once the controller moves on (delete), the error is not reported any more.
    expect((await agent.vmReports())[0]?.error).toBeDefined();
    agent.apply([{ ...a, power: 'stopped' }]);
    await until(async () => ((await agent.vmReports())[0]?.error === undefined ? true : undefined), 'error cleared');
  });

  it('reports a missing image as the VM error', async () => {
    const a = assignment({ spec: { ...assignment().spec, image: 'nosuch', volumes: [{ id: 'abcdef0123456789-boot', role: 'boot', sizeBytes: MiB, backingImage: 'nosuch' }] } });
    agent.apply([a]);
    const r = await until(async () => {
      const [x] = await agent.vmReports();
      return x?.error ? x : undefined;
    }, 'error');
    expect(r.error).toMatch(/image "nosuch" is not on this host/);
    expect(r.volumes).toEqual([]);
  });

  it('finds its VMs again after a restart', async () => {
    const a = assignment({ power: 'running', epoch: 1 });
    agent.apply([a]);
    await until(async () => ((await agent.vmReports())[0]?.state === 'crashed' ? true : undefined), 'crash');
    const again = new Agent(agent.ctx);
    await again.reattach();
    const [r] = await again.vmReports();
    expect(r).toMatchObject({ id: a.id, state: 'crashed', epoch: 1 });
  });
});
