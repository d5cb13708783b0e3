// Resources as the controller answers them, for the CLI's tests.
import type { Migration } from '../../api/migration.js';
import type { Host, Image, Job, Vm } from '../../api/resources.js';
import { PassThrough, Writable } from 'node:stream';
import { runCli } from '../cli.js';
import type { CliIo } from '../io.js';

const AT = '2024-01-01T00:00:00.000Z';

export function sampleVm(over: Partial<Vm> = {}): Vm {
  return {
    id: 'vm-1', name: 'web', phase: 'Running', intent: 'running', hostId: 'host-1', epoch: 1, rebootSeq: 0, forceStop: false,
    spec: {
      image: 'tiny', cpus: 2, maxCpus: 8, memoryMiB: 256, maxMemoryMiB: 1024, mac: '52:54:00:12:34:56',
      volumes: [{ id: 'vol-1', role: 'boot', sizeBytes: 1024 ** 3, backingImage: 'tiny' }],
      ports: [{ proto: 'tcp', hostAddress: '127.0.0.1', hostPort: 8080, guestPort: 80 }],
    },
    createdAt: AT, updatedAt: AT,
    ...over,
  };
}

export function sampleHost(over: Partial<Host> = {}): Host {
  return {
    id: 'host-1', name: 'h0', state: 'Ready', agentUrl: 'http://127.0.0.1:7481', createdAt: AT, lastSeenAt: AT,
    inventory: { hostname: 'box', cpus: 2, memoryMiB: 24576, kvm: false, qemuVersion: '7.2.0', freeDiskBytes: 10 * 1024 ** 3, agentVersion: '0.1.0' },
    ...over,
  };
}

export function sampleImage(over: Partial<Image> = {}): Image {
  return { name: 'tiny', kind: 'kernel', source: 'built', kernelVersion: '6.1.0-cloud', sizeBytes: 30 * 1024 ** 2, hosts: ['host-1'], createdAt: AT, ...over };
}

export function sampleJob(over: Partial<Job> = {}): Job {
  return {
    id: 'job-1', kind: 'vm.create', target: 'web', state: 'succeeded', createdAt: AT, updatedAt: AT,
    steps: ['record', 'volumes', 'start', 'running'].map((name) => ({ name, state: 'done' as const, startedAt: AT, endedAt: AT })),
    ...over,
  };
}

export function sampleMigration(over: Partial<Migration> = {}): Migration {
  return {
    id: 'mig-1', vmId: 'vm-1', vm: 'web', sourceHostId: 'host-1', targetHostId: 'host-2', source: 'h0', target: 'h1',
    storage: 'shared', strategy: 'auto', maxDowntimeMs: 300, allowPostcopy: false, timeoutS: 600,
    state: 'completed', path: ['precopy'], jobId: 'job-7', createdAt: AT, updatedAt: '2024-01-01T00:00:04.000Z',
    result: { downtimeMs: 42, totalMs: 3500, setupMs: 200, transferredBytes: 300 * 1024 ** 2, ramBytes: 256 * 1024 ** 2, postcopy: false },
    ...over,
  };
}

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs `drover <argv>` in-process, capturing its output. */
export async function run(argv: string[], opts: { env?: Record<string, string | undefined>; stdin?: CliIo['stdin']; cwd?: string; signal?: AbortSignal } = {}): Promise<RunResult> {
  const stdout = new Collector();
  const stderr = new Collector();
  let exited: number | undefined;
  const stdin = opts.stdin ?? new PassThrough();
  const code = await runCli(argv, {
    stdout, stderr, stdin, env: opts.env ?? {}, cwd: opts.cwd ?? '/work', homeDir: '/nonexistent-home', signal: opts.signal,
    exit: (c) => (exited = c),
  });
  if (exited !== code) throw new Error('runCli did not report its exit code');
  return { code, stdout: stdout.text, stderr: stderr.text };
}

/** A stream that keeps what is written to it, synchronously. */
export class Collector extends Writable {
  text = '';
  override _write(chunk: Buffer | string, _enc: BufferEncoding, cb: () => void): void {
    this.text += chunk.toString();
    cb();
  }
}
