// The agent's HA wiring without a guest: the start gate of HA VMs, the fence
// targets it writes, and HostHa with a real fencer process (T = 200 ms).
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pino from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { VmAssignment } from '../api/agent-protocol.js';
import { haTiming } from '../core/ha-timing.js';
import { writeManifest } from '../image/manifest.js';
import { isAlive } from '../qemu/qemu-pid.js';
import type { HostCapsResolved } from '../qemu/vm-spec.js';
import { Agent } from './agent.js';
import type { AgentContext } from './agent-context.js';
import { readPid } from './fencer/lease-io.js';
import { fencerFiles, type FenceTarget } from './fencer/protocol.js';
import { readTargets } from './fencer/targets.js';
import { HostHa } from './ha.js';
import { agentPaths, loadVmFile, vmDir } from './state-files.js';

const caps: HostCapsResolved = { kvm: false, sandbox: false, qemuBinary: '/nonexistent/qemu', qemuVersion: '7.2.0', balloonFreePageReporting: false, odirect: () => false };
const silent = pino({ level: 'silent' });

function assignment(id: string, ha: boolean): VmAssignment {
  return {
    id, name: `vm-${id.slice(0, 4)}`, power: 'running', epoch: 1, rebootSeq: 0, forceStop: false,
    spec: { image: 'base', cpus: 1, maxCpus: 1, memoryMiB: 256, maxMemoryMiB: 256, mac: '52:54:00:00:00:01', ports: [], volumes: [], ha },
  };
}

async function until<T>(what: string, fn: () => Promise<T | undefined> | T | undefined, timeoutMs = 15_000): Promise<T> {
  for (const deadline = Date.now() + timeoutMs; Date.now() < deadline; await new Promise((r) => setTimeout(r, 25))) {
    const v = await fn();
    if (v !== undefined) return v;
  }
  throw new Error(`timed out waiting for ${what}`);
}

describe('HA VMs in the agent', () => {
  let root: string;
  let refusal: string | undefined;
  let agent: Agent;

  beforeEach(async () => {
    root = fs.mkdtempSync(path.join(os.tmpdir(), 'drover-ha-'));
    const images = path.join(root, 'images');
    fs.mkdirSync(path.join(images, 'base'), { recursive: true });
    fs.writeFileSync(path.join(images, 'base', 'disk.qcow2'), '');
    await writeManifest(path.join(images, 'base'), { name: 'base', kind: 'disk', disk: 'disk.qcow2', diskFormat: 'qcow2', files: {}, createdAt: '2024-01-01T00:00:00Z', source: 'imported' });
    refusal = 'the lease is not fresh';
    const ctx: AgentContext = {
      paths: agentPaths(path.join(root, 'state')), imagesDir: images, caps, stopGraceMs: 1000, log: silent,
      changed: () => {}, removed: (id) => agent.removed(id),
      haGate: { refuseStart: (a) => (a.spec.ha ? refusal : undefined) },
    };
    agent = new Agent(ctx);
  });
  afterEach(() => fs.rmSync(root, { recursive: true, force: true }));

  it('refuses to start an HA VM while the gate says no, with the reason, and starts it once asked again', async () => {
    const ha = assignment('aaaa000000000001', true);
    const plain = assignment('bbbb000000000002', false);
    agent.apply([ha, plain]);
    const reports = await until('both decided', async () => {
      const r = await agent.vmReports();
      return r.find((x) => x.id === ha.id)?.error && r.find((x) => x.id === plain.id)?.state === 'crashed' ? r : undefined;
    });
    expect(reports.find((x) => x.id === ha.id)).toMatchObject({ state: 'stopped', epoch: 0, error: 'the lease is not fresh' });
    expect(loadVmFile(agent.ctx.paths, ha.id)?.lastStartedEpoch).toBe(0);
    // The plain VM was not asked: it tried (and failed, there is no QEMU here).
    expect(loadVmFile(agent.ctx.paths, plain.id)?.lastStartedEpoch).toBe(1);

    refusal = undefined;
    agent.retryRefusedStarts();
    const started = await until('the HA VM started', async () => {
      const r = (await agent.vmReports()).find((x) => x.id === ha.id);
      return r?.state === 'crashed' ? r : undefined;
    });
    expect(started.error).toMatch(/qemu/i);
    expect(loadVmFile(agent.ctx.paths, ha.id)?.lastStartedEpoch).toBe(1);
  });

  it('lists HA VMs, and only those, as fence targets with their run dir', async () => {
    const ha = assignment('aaaa000000000001', true);
    agent.apply([ha, assignment('bbbb000000000002', false)]);
    // Both decided (the plain VM's start fails here: no QEMU), so nothing writes after the test.
    await until('both decided', async () => {
      const r = await agent.vmReports();
      return r.find((x) => x.id === ha.id)?.error && r.find((x) => x.state === 'crashed') ? true : undefined;
    });
    expect(agent.fenceTargets()).toEqual([{ vmId: ha.id, runDir: vmDir(agent.ctx.paths, ha.id) }]);
  });
});

describe('HostHa', { timeout: 45_000 }, () => {
  let root: string;
  let stateDir: string;
  let targets: FenceTarget[];
  let fresh = 0;
  const started: number[] = [];

  beforeEach(() => {
    root = fs.mkdtempSync(path.join(os.tmpdir(), 'drover-hostha-'));
    stateDir = path.join(root, 'state');
    fs.mkdirSync(stateDir, { mode: 0o700 });
    fs.mkdirSync(path.join(root, 'pool'));
    targets = [{ vmId: 'vm1', runDir: path.join(stateDir, 'vms', 'vm1') }];
    fresh = 0;
  });
  afterEach(async () => {
    const pid = readPid(fencerFiles(stateDir).pid);
    for (const p of [...started.splice(0), ...(pid ? [pid] : [])]) if (isAlive(p)) process.kill(p, 'SIGKILL');
    fs.rmSync(root, { recursive: true, force: true });
  });

  const make = (on: boolean) =>
    new HostHa({
      stateDir, log: silent, targets: () => targets, onFresh: () => fresh++,
      ...(on ? { sharedPoolDir: path.join(root, 'pool'), timing: haTiming(200) } : { offReason: 'turned off (--no-ha)' }),
    });
  const haVm = assignment('aaaa000000000001', true);

  it('starts the fencer, lets HA VMs start once the lease is fresh, reports it, and stands it down', async () => {
    const ha = make(true);
    await ha.start('host-a');
    const pid = ha.report().fencerPid;
    if (pid) started.push(pid);
    const report = await until('a fresh lease', () => (ha.report().leaseFresh ? ha.report() : undefined));
    expect(report).toMatchObject({ enabled: true, leaseFresh: true, fenced: [], fencerPid: pid });
    expect(pid).toBeGreaterThan(0);
    expect(report.lastRenewalAgeMs).toBeGreaterThanOrEqual(0);
    expect(fresh).toBeGreaterThanOrEqual(1);
    expect(ha.refuseStart(haVm)).toBeUndefined();
    expect(readTargets(fencerFiles(stateDir).targets)).toEqual(targets);
    targets = [];
    ha.targetsChanged();
    expect(readTargets(fencerFiles(stateDir).targets)).toEqual([]);
    await ha.stop();
    expect(isAlive(pid as number)).toBe(false);
    expect(fs.existsSync(fencerFiles(stateDir).sock)).toBe(false);
  });

  it('refuses HA VMs, and only those, when HA is off', async () => {
    const ha = make(false);
    await ha.start('host-a');
    expect(ha.refuseStart(haVm)).toMatch(/this host cannot fence itself \(turned off \(--no-ha\)\)/);
    expect(ha.refuseStart(assignment('bbbb000000000002', false))).toBeUndefined();
    expect(ha.report()).toEqual({ enabled: false, reason: 'turned off (--no-ha)', leaseFresh: false, fenced: [] });
    expect(fs.existsSync(fencerFiles(stateDir).sock)).toBe(false);
  });
});
