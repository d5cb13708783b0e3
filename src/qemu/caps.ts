// What this host's QEMU can do: binary, version, KVM (tested with a boot,
// kvm-check.ts), seccomp sandbox, balloon free page reporting, O_DIRECT per
// directory. Probed once, cached; an untested KVM is tested once a kernel
// to boot is given.
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { SANDBOX_OPTION } from './args.js';
import { kvmVerdict } from './kvm-check.js';
import type { HostCapsResolved } from './vm-spec.js';

export const QEMU_BINARY = 'qemu-system-x86_64';
const PROBE_TIMEOUT_MS = 15_000;

export class QemuMissingError extends Error {
  override name = 'QemuMissingError';
  constructor(binary = QEMU_BINARY) {
    super(`${binary} not found: install the Debian package qemu-system-x86`);
  }
}

let cached: Promise<HostCapsResolved> | undefined;

/**
 * Probes the host once; later calls share the result. `refresh` probes again.
 * `kernels`: guest kernels to test KVM with; a KVM not tested yet is tested
 * with them (the cached object changes in place, so holders see it).
 */
export function detectHostCaps(opts: { refresh?: boolean; kernels?: readonly string[] } = {}): Promise<HostCapsResolved> {
  if (!cached || opts.refresh) {
    const probe = probeHostCaps(process.env['PATH'] ?? '', opts.kernels ?? []);
    cached = probe;
    // A failed probe (QEMU not installed yet) is retried on the next call.
    probe.catch(() => {
      if (cached === probe) cached = undefined;
    });
    return probe;
  }
  const kernels = opts.kernels ?? [];
  return cached.then(async (caps) => {
    if (caps.kvmFinal === false && kernels.length > 0) Object.assign(caps, await kvmFields(caps.qemuBinary, kernels));
    return caps;
  });
}

/**
 * For a KVM still untested at start (no guest kernel then): a check to call
 * often (each report); once a kernel exists it tests KVM in the background,
 * one test at a time, and calls `done` with the caps it changed in place.
 */
export function kvmRetester(kernels: () => string[], done: (caps: HostCapsResolved) => void): (caps: HostCapsResolved) => void {
  let testing = false;
  return (caps) => {
    if (caps.kvmFinal !== false || testing) return;
    const found = kernels();
    if (found.length === 0) return;
    testing = true;
    void detectHostCaps({ kernels: found })
      .then(done, () => undefined)
      .finally(() => (testing = false));
  };
}

async function kvmFields(qemuBinary: string, kernels: readonly string[]): Promise<Pick<HostCapsResolved, 'kvm' | 'kvmReason' | 'kvmFinal'>> {
  const v = await kvmVerdict(qemuBinary, kvmUsable(), kernels);
  return { kvm: v.kvm, kvmReason: v.reason, kvmFinal: v.final };
}

export async function probeHostCaps(pathEnv: string, kernels: readonly string[] = []): Promise<HostCapsResolved> {
  const qemuBinary = findOnPath(QEMU_BINARY, pathEnv);
  if (!qemuBinary) throw new QemuMissingError();
  const [qemuVersion, sandbox, balloonFreePageReporting, kvm] = await Promise.all([
    probeVersion(qemuBinary),
    probeSandbox(qemuBinary),
    probeBalloonFreePageReporting(qemuBinary),
    kvmFields(qemuBinary, kernels),
  ]);
  const odirectByDir = new Map<string, boolean>();
  return {
    ...kvm,
    sandbox,
    qemuBinary,
    qemuVersion,
    balloonFreePageReporting,
    odirect: (dir) => cachedOdirect(odirectByDir, dir),
  };
}

export function findOnPath(binary: string, pathEnv: string): string | null {
  for (const dir of pathEnv.split(path.delimiter)) {
    if (!dir) continue;
    const candidate = path.join(dir, binary);
    try {
      fs.accessSync(candidate, fs.constants.X_OK);
      if (fs.statSync(candidate).isFile()) return candidate;
    } catch {
      // not in this directory
    }
  }
  return null;
}

/** KVM is usable when /dev/kvm opens read-write (exists, and we are in the kvm group or root). */
export function kvmUsable(device = '/dev/kvm'): boolean {
  try {
    fs.closeSync(fs.openSync(device, fs.constants.O_RDWR));
    return true;
  } catch {
    return false;
  }
}

/** Whether a file in dir can be opened with O_DIRECT (tmpfs before Linux 6.6 and some FUSE filesystems refuse). */
export function odirectSupported(dir: string): boolean {
  const probe = path.join(dir, `.drover-odirect-${process.pid}-${randomBytes(4).toString('hex')}`);
  const { O_CREAT, O_EXCL, O_WRONLY, O_DIRECT } = fs.constants;
  try {
    fs.closeSync(fs.openSync(probe, O_CREAT | O_EXCL | O_WRONLY | O_DIRECT, 0o600));
    return true;
  } catch {
    return false;
  } finally {
    fs.rmSync(probe, { force: true });
  }
}

function cachedOdirect(cache: Map<string, boolean>, dir: string): boolean {
  const key = path.resolve(dir);
  const known = cache.get(key);
  if (known !== undefined) return known;
  const result = odirectSupported(key);
  // A missing directory says nothing about its future filesystem: do not cache it.
  if (result || fs.existsSync(key)) cache.set(key, result);
  return result;
}

async function probeVersion(binary: string): Promise<string> {
  const { stdout } = await runProbe(binary, ['-version']);
  const match = /version (\d+\.\d+\.\d+)/.exec(stdout);
  if (!match?.[1]) throw new Error(`cannot read the version of ${binary} from: ${stdout.trim()}`);
  return match[1];
}

/** Starts QEMU with the exact -sandbox option we use, then quits it over QMP on stdio. */
async function probeSandbox(binary: string): Promise<boolean> {
  const args = ['-sandbox', SANDBOX_OPTION, '-machine', 'none', '-nodefaults', '-display', 'none', '-S', '-qmp', 'stdio'];
  const input = '{"execute":"qmp_capabilities"}\n{"execute":"quit"}\n';
  const { code } = await runProbe(binary, args, input);
  return code === 0;
}

async function probeBalloonFreePageReporting(binary: string): Promise<boolean> {
  const { stdout } = await runProbe(binary, ['-device', 'virtio-balloon-pci,help']);
  return stdout.includes('free-page-reporting');
}

interface ProbeResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

function runProbe(binary: string, args: string[], input = ''): Promise<ProbeResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(binary, args, { stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.stdin.on('error', () => {}); // QEMU may exit before reading its input
    child.stdin.end(input);
    const timer = setTimeout(() => child.kill('SIGKILL'), PROBE_TIMEOUT_MS);
    child.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}
