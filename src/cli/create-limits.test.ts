// The limit flags of `drover vm create` (the same as `drover vm limits`,
// parsed by src/cli/parse-limits.ts), in-process against the fake controller.
import { describe, expect, it } from 'vitest';
import { FakeApi, useFakeApi } from './test-support/fake-api.js';
import { run, sampleJob, sampleVm } from './test-support/samples.js';
import { UsageError } from './output.js';
import { parseCreateLimits } from './parse-limits.js';

const MiB = 1024 ** 2;

describe('parseCreateLimits', () => {
  it('reads the same flags as drover vm limits', () => {
    expect(parseCreateLimits({})).toBeUndefined();
    expect(parseCreateLimits({ cpuWeight: '300', cpuLimit: '0.5', memoryLimit: '1G', diskIops: '200/100', diskBandwidth: '20M/10M' })).toEqual({
      cpuWeight: 300, cpuLimitCores: 0.5, memoryLimitMiB: 1024, diskReadIops: 200, diskWriteIops: 100, diskReadBytesPerSec: 20 * MiB, diskWriteBytesPerSec: 10 * MiB,
    });
  });

  it('refuses none (a new VM has nothing to remove), naming the flag', () => {
    for (const [flags, option] of [[{ cpuLimit: 'none' }, '--cpu-limit'], [{ diskIops: '100/none' }, '--disk-iops']] as const) {
      const err = (() => {
        try {
          parseCreateLimits(flags);
        } catch (e) {
          return e;
        }
      })();
      expect(err).toBeInstanceOf(UsageError);
      expect(err).toMatchObject({ field: option, message: expect.stringMatching(/a new VM has no limit to remove/) });
    }
  });
});

describe('drover vm create with limits', () => {
  let api: FakeApi;
  let env: Record<string, string>;
  useFakeApi((a, e) => ([api, env] = [a, e]));

  it('sends the limits in the create body', async () => {
    api.on('createVm', () => ({ vm: sampleVm({ phase: 'Pending' }), job: sampleJob() }));
    const argv = ['vm', 'create', 'web', '--cpus', '2', '--cpu-limit', '1', '--memory-limit', '1G', '--disk-iops', '200/100', '--disk-bandwidth', '20M', '--cpu-weight', '50', '--no-wait'];
    const r = await run(argv, { env });
    expect(r.code, r.stderr).toBe(0);
    expect(api.requests.find((q) => q.route === 'createVm')?.body).toEqual({
      name: 'web', image: 'tiny', start: true, cpus: 2,
      limits: { cpuWeight: 50, cpuLimitCores: 1, memoryLimitMiB: 1024, diskReadIops: 200, diskWriteIops: 100, diskReadBytesPerSec: 20 * MiB, diskWriteBytesPerSec: 20 * MiB },
    });
  });

  it('sends no limits without the flags', async () => {
    api.on('createVm', () => ({ vm: sampleVm({ phase: 'Pending' }), job: sampleJob() }));
    const r = await run(['vm', 'create', 'web', '--no-wait'], { env });
    expect(r.code, r.stderr).toBe(0);
    expect(api.requests.find((q) => q.route === 'createVm')?.body).not.toHaveProperty('limits');
  });

  it('refuses bad limit flags before sending anything (exit 2)', async () => {
    for (const [argv, message] of [
      [['--cpu-limit', 'lots'], /--cpu-limit "lots" is out of range or not a number[^]*field: --cpu-limit/],
      [['--memory-limit', '32M'], /--memory-limit "32M" is out of range[^]*field: --memory-limit/],
      [['--disk-iops', '1/2/3'], /--disk-iops "1\/2\/3" is not READ or READ\/WRITE/],
      [['--cpu-weight', 'none'], /--cpu-weight none: a new VM has no limit to remove; leave --cpu-weight out for no cap\n {2}field: --cpu-weight/],
    ] as Array<[string[], RegExp]>) {
      const r = await run(['vm', 'create', 'web', ...argv], { env });
      expect(r.code, argv.join(' ')).toBe(2);
      expect(r.stderr).toMatch(message);
    }
    expect(api.count()).toBe(0);
  });

  it('lists the flags in its help, without "none" (that is for drover vm limits)', async () => {
    const help = (await run(['vm', 'create', '--help'], { env })).stdout;
    for (const flag of ['--cpu-weight <n>', '--cpu-limit <cores>', '--memory-limit <size>', '--disk-iops <r[/w]>', '--disk-bandwidth <size[/size]>']) expect(help).toContain(flag);
    expect(help).not.toContain('none removes it');
    expect((await run(['vm', 'limits', '--help'], { env })).stdout).toContain('none removes it');
  });
});
