// `drover vm disk add|remove` and `drover vm nic add|remove` in-process against the fake controller.
import { beforeEach, describe, expect, it } from 'vitest';
import { useFakeApi, type FakeApi } from './test-support/fake-api.js';
import { run, sampleJob, sampleVm } from './test-support/samples.js';

const MiB = 1024 ** 2;
const grown = sampleVm({
  spec: { ...sampleVm().spec, volumes: [...sampleVm().spec.volumes, { id: 'vm-1-data1', role: 'data', sizeBytes: 64 * MiB, port: 'hp0' }], nics: [{ id: 'net1', mac: '52:54:00:00:00:01', network: 'user', port: 'hp1' }] },
  liveDevices: { disks: ['vol-1', 'vm-1-data1'], nics: ['net0', 'net1'] },
});

describe('drover vm disk and nic', () => {
  let api: FakeApi;
  let env: Record<string, string>;
  useFakeApi((a, e) => ([api, env] = [a, e]));
  beforeEach(() => {
    const accepted = () => ({ vm: sampleVm(), job: sampleJob({ id: 'job-9', kind: 'vm.disk-add' }) });
    for (const route of ['addVmDisk', 'removeVmDisk', 'addVmNic', 'removeVmNic'] as const) api.on(route, accepted);
    api.on('getJob', () => sampleJob({ id: 'job-9', kind: 'vm.disk-add' }));
    api.on('getVm', () => grown);
  });

  it('refuses bad flags with exit 2, naming the flag, and sends nothing', async () => {
    const cases: Array<[string[], string]> = [
      [['vm', 'disk', 'add', 'web'], 'field: --size'],
      [['vm', 'disk', 'add', 'web', '--size', '1G', '--volume', 'data1'], 'field: --volume'],
      [['vm', 'disk', 'add', 'web', '--size', 'lots'], 'field: --size'],
      [['vm', 'disk', 'add', 'web', '--size', '4k'], 'field: --size'],
      [['vm', 'nic', 'add', 'web', '--network', 'wifi'], 'field: --network\n  allowed: user, bridge'],
      [['vm', 'disk', 'remove', 'web', ' '], 'field: DISK'],
    ];
    for (const [argv, expected] of cases) {
      const r = await run(argv, { env });
      expect(r.code, argv.join(' ')).toBe(2);
      expect(r.stderr, argv.join(' ')).toContain(expected);
    }
    expect(api.count()).toBe(0);
  });

  it('adds a disk of the given size and prints the VM\'s disks and NICs', async () => {
    const r = await run(['vm', 'disk', 'add', 'web', '--size', '64M'], { env });
    expect(r.code, r.stderr).toBe(0);
    expect(api.requests.find((q) => q.route === 'addVmDisk')).toMatchObject({ params: { name: 'web' }, body: { sizeBytes: 64 * MiB } });
    expect(r.stdout).toContain('VM web: disks vol-1, data1; NICs net0, net1');
  });

  it('attaches a detached volume, removes a disk (with --delete), adds and removes NICs', async () => {
    expect((await run(['vm', 'disk', 'add', 'web', '--volume', 'data1', '--no-wait'], { env })).code).toBe(0);
    expect(api.requests.find((q) => q.route === 'addVmDisk')?.body).toEqual({ volume: 'data1' });
    expect((await run(['vm', 'disk', 'rm', 'web', 'data1', '--delete'], { env })).code).toBe(0);
    expect(api.requests.find((q) => q.route === 'removeVmDisk')).toMatchObject({ params: { name: 'web', id: 'data1' }, query: { delete: 'true' } });
    expect((await run(['vm', 'nic', 'add', 'web', '--network', 'bridge'], { env })).code).toBe(0);
    expect(api.requests.find((q) => q.route === 'addVmNic')?.body).toEqual({ network: 'bridge' });
    expect((await run(['vm', 'nic', 'remove', 'web', 'net1'], { env })).code).toBe(0);
    expect(api.requests.find((q) => q.route === 'removeVmNic')?.params).toEqual({ name: 'web', id: 'net1' });
  });
});
