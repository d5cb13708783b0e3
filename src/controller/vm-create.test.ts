// VM create: validation before any change, and the whole create job driven
// by a fake agent that speaks the real protocol.
import { createServer, type Server } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CreateVmRequest } from '../api/requests.js';
import { vmReport } from './test-support/fake-agent.js';
import { eventually, startTestBed, type TestBed } from './test-support/harness.js';

describe('VM create', () => {
  let bed: TestBed;
  beforeAll(async () => {
    bed = await startTestBed();
  });
  afterAll(async () => {
    await bed?.stop();
  });

  const snapshot = async () => ({ vms: await bed.client.call('listVms'), jobs: (await bed.client.call('listJobs')).length, volumes: await bed.client.call('listVolumes') });
  const createError = (body: Record<string, unknown>) => bed.client.call('createVm', { body: { name: 'okname', image: 'tiny', ...body } as CreateVmRequest }).then(() => undefined, (e: unknown) => e);

  const refusals: Array<{ what: string; body: Record<string, unknown>; code: string; field: string; message: RegExp }> = [
    { what: 'a bad name', body: { name: 'Bad_Name' }, code: 'invalid', field: 'name', message: /name must be 1-63 lowercase letters/ },
    { what: 'too little memory', body: { memoryMiB: 64 }, code: 'invalid', field: 'memoryMiB', message: /memoryMiB must be >= 128/ },
    { what: 'too many cpus', body: { cpus: 500 }, code: 'invalid', field: 'cpus', message: /cpus must be <= 64/ },
    { what: 'a bad port', body: { ports: [{ hostPort: 99999, guestPort: 80 }] }, code: 'invalid', field: 'ports[0].hostPort', message: /<= 65535/ },
    { what: 'a bad protocol', body: { ports: [{ hostPort: 8080, guestPort: 80, proto: 'sctp' }] }, code: 'invalid', field: 'ports[0].proto', message: /one of: tcp, udp/ },
    { what: 'a missing guest port', body: { ports: [{ hostPort: 8080 }] }, code: 'invalid', field: 'ports[0].guestPort', message: /is required/ },
    { what: 'maxCpus below cpus', body: { cpus: 4, maxCpus: 2 }, code: 'invalid', field: 'maxCpus', message: /maxCpus must be >= cpus \(4\)/ },
    { what: 'maxMemoryMiB below memoryMiB', body: { memoryMiB: 512, maxMemoryMiB: 256 }, code: 'invalid', field: 'maxMemoryMiB', message: />= memoryMiB/ },
    { what: 'an unknown image', body: { image: 'nosuch' }, code: 'not_found', field: 'image', message: /"nosuch" not found.*available: tiny/ },
    { what: 'more memory than the host has', body: { memoryMiB: 8192 }, code: 'unavailable', field: 'memoryMiB', message: /not enough memory/ },
  ];

  for (const r of refusals) {
    it(`refuses ${r.what}, naming the field, and changes nothing`, async () => {
      const before = await snapshot();
      const err = await createError(r.body);
      expect(err).toMatchObject({ code: r.code, field: r.field });
      expect((err as Error).message).toMatch(r.message);
      expect(await snapshot()).toEqual(before);
    });
  }

  it('refuses a host port that is busy on the host (asked of the agent)', async () => {
    const blocker: Server = createServer();
    await new Promise<void>((r) => blocker.listen(0, '127.0.0.1', () => r()));
    const busy = (blocker.address() as { port: number }).port;
    bed.agent.busyPorts.add(busy);
    const before = await snapshot();
    const err = await createError({ ports: [{ hostPort: busy + 1, guestPort: 22 }, { hostPort: busy, guestPort: 80 }] });
    expect(err).toMatchObject({ code: 'conflict', field: 'ports[1].hostPort' });
    expect((err as Error).message).toContain(String(busy));
    const call = bed.agent.calls.findLast((c) => c.path === '/agent/v1/ports/check');
    expect(call?.authorization).toBe(`Bearer ${bed.agent.credential}`);
    expect(await snapshot()).toEqual(before);
    blocker.close();
  });

  it('creates a VM: one commit, assignment, volumes, start, Running', async () => {
    const { vm, job } = await bed.client.call('createVm', { body: { name: 'web', image: 'tiny', cpus: 2, memoryMiB: 256, diskBytes: 64 * 1024 ** 2, ports: [{ hostPort: 18080, guestPort: 80 }] } });
    expect(vm).toMatchObject({ name: 'web', phase: 'Pending', intent: 'stopped', epoch: 0, hostId: bed.agent.hostId });
    expect(vm.spec).toMatchObject({ image: 'tiny', cpus: 2, maxCpus: 8, memoryMiB: 256, maxMemoryMiB: 1024, ports: [{ proto: 'tcp', hostPort: 18080, guestPort: 80 }] });
    expect(vm.spec.mac).toMatch(/^52:54:00(:[0-9a-f]{2}){3}$/);
    expect(vm.spec.volumes.map((v) => [v.role, v.sizeBytes])).toEqual([['boot', 1024 ** 3], ['data', 64 * 1024 ** 2]]);
    expect(job).toMatchObject({ kind: 'vm.create', target: 'web', state: 'running' });
    expect(job.steps.map((s) => s.name)).toEqual(['volumes', 'start', 'running']);

    const first = await bed.agent.assignments();
    expect(first.vms).toMatchObject([{ id: vm.id, name: 'web', power: 'stopped', epoch: 0 }]);
    const a0 = first.vms[0]!;
    await bed.agent.report([vmReport(a0, 'stopped')]);
    // Volumes reported: the job starts the VM, which the long poll sees as a change.
    const started = await bed.agent.assignments(first.revision, 5000);
    expect(started.vms).toMatchObject([{ id: vm.id, power: 'running', epoch: 1 }]);
    expect((await bed.client.call('getVm', { params: { name: 'web' } })).phase).toBe('Starting');
    await bed.agent.report([vmReport(started.vms[0]!, 'running', { pid: 99, stats: { cpuSeconds: 0.5, rssBytes: 4096 } })]);
    const done = await bed.client.waitJob(job.id, undefined, 20);
    expect(done.steps.map((s) => s.state)).toEqual(['done', 'done', 'done']);
    const shown = await bed.client.call('getVm', { params: { name: 'web' } });
    expect(shown).toMatchObject({ phase: 'Running', intent: 'running', epoch: 1, pid: 99, stats: { rssBytes: 4096 } });
    expect(await bed.client.call('getVm', { params: { name: vm.id } })).toMatchObject({ name: 'web' });
    const volumes = await bed.client.call('listVolumes');
    expect(volumes.map((v) => [v.vmId, v.role, v.hostId])).toEqual([[vm.id, 'boot', bed.agent.hostId], [vm.id, 'data', bed.agent.hostId]]);
  });

  it('refuses a taken name with 409 and changes nothing', async () => {
    const before = await snapshot();
    const err = await createError({ name: 'web' });
    expect(err).toMatchObject({ code: 'conflict', field: 'name' });
    expect(await snapshot()).toEqual(before);
  });

  it('refuses a host port another VM of the host forwards', async () => {
    const err = await createError({ ports: [{ hostPort: 18080, guestPort: 80 }] });
    expect(err).toMatchObject({ code: 'conflict', field: 'ports[0].hostPort' });
    expect((err as Error).message).toMatch(/web/);
  });

  it('creates without starting when start is false: Pending once its volumes exist', async () => {
    const { vm, job } = await bed.client.call('createVm', { body: { name: 'cold', image: 'tiny', start: false } });
    expect(job.steps.map((s) => s.name)).toEqual(['volumes']);
    const a = await eventually(async () => (await bed.agent.assignments()).vms.find((v) => v.id === vm.id), 'assignment');
    const web = (await bed.agent.assignments()).vms.find((v) => v.name === 'web')!;
    await bed.agent.report([vmReport(web, 'running'), vmReport(a, 'absent')]);
    expect((await bed.client.waitJob(job.id, undefined, 20)).state).toBe('succeeded');
    expect(await bed.client.call('getVm', { params: { name: 'cold' } })).toMatchObject({ phase: 'Pending', intent: 'stopped', epoch: 0 });
  });
});
