// Whether KVM really runs guests here. A /dev/kvm that opens is not enough:
// some nested or sandboxed hosts expose one whose guests die on their first
// instructions in 64-bit mode ("KVM internal error ... emulation failure")
// or hang. So a Linux kernel is booted under KVM once, with no root disk:
// it gets as far as "VFS: Unable to mount root fs" within seconds when KVM
// works. The verdict is cached for the process, and on disk for this boot
// of the machine (every agent and test on it shares one test boot). Without
// a kernel to test with, KVM is not trusted (TCG) until one exists (the tiny
// image's). DROVER_ACCEL=kvm|tcg skips the test.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export interface KvmVerdict {
  kvm: boolean;
  /** Why, for the agent's log and `drover host show`. */
  reason: string;
  /** A kernel was booted (or the choice was forced): the verdict holds for the process. */
  final: boolean;
}

const BOOT_TIMEOUT_MS = 20_000;
const WORKS = /Unable to mount root|Kernel panic - not syncing|Run \/init as init process|Freeing unused kernel/;
const BROKEN = /KVM internal error|emulation failure|failed to initialize kvm|Could not access KVM/i;

let settled: KvmVerdict | undefined;

/** Where the verdict of this boot is kept (DROVER_KVM_CHECK_FILE overrides; tests use their own). */
function cacheFile(env: NodeJS.ProcessEnv): string {
  return env['DROVER_KVM_CHECK_FILE'] ?? path.join(os.homedir(), '.cache', 'drover', 'kvm-check.json');
}

function bootId(): string {
  try {
    return fs.readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim();
  } catch {
    return 'unknown';
  }
}

interface CachedVerdict {
  bootId: string;
  qemuBinary: string;
  kvm: boolean;
  reason: string;
}

function readCached(file: string, qemuBinary: string): KvmVerdict | undefined {
  try {
    const c = JSON.parse(fs.readFileSync(file, 'utf8')) as CachedVerdict;
    if (c.bootId !== bootId() || c.qemuBinary !== qemuBinary || typeof c.kvm !== 'boolean') return undefined;
    return { kvm: c.kvm, reason: `${c.reason}; tested once since this machine booted`, final: true };
  } catch {
    return undefined;
  }
}

function writeCached(file: string, qemuBinary: string, v: KvmVerdict): void {
  try {
    fs.mkdirSync(path.dirname(file), { recursive: true });
    const tmp = `${file}.${process.pid}.tmp`;
    fs.writeFileSync(tmp, JSON.stringify({ bootId: bootId(), qemuBinary, kvm: v.kvm, reason: v.reason } satisfies CachedVerdict));
    fs.renameSync(tmp, file);
  } catch {
    // a read-only home: the next process tests again
  }
}

/** Kernels worth booting for the test: the tiny image's in `imagesDir`, then the host's own. */
export function testKernels(imagesDir: string | undefined): string[] {
  const out: string[] = [];
  if (imagesDir) out.push(path.join(imagesDir, 'tiny', 'vmlinuz'));
  try {
    for (const f of fs.readdirSync('/boot').sort().reverse()) if (f.startsWith('vmlinuz')) out.push(path.join('/boot', f));
  } catch {
    // no /boot (a container)
  }
  return out.filter((f) => fs.existsSync(f));
}

/** Boots `kernel` under KVM with no root disk; resolves what its console showed. */
export function bootsUnderKvm(qemuBinary: string, kernel: string, timeoutMs = BOOT_TIMEOUT_MS): Promise<{ ok: boolean; detail: string }> {
  return new Promise((resolve) => {
    const args = ['-machine', 'q35,accel=kvm', '-cpu', 'host', '-m', '128', '-nodefaults', '-no-user-config', '-nographic', '-display', 'none',
      '-serial', 'stdio', '-no-reboot', '-kernel', kernel, '-append', 'console=ttyS0 panic=-1 quiet loglevel=3'];
    const child = spawn(qemuBinary, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let done = false;
    const finish = (ok: boolean, detail: string) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      if (child.exitCode === null && child.pid !== undefined) child.kill('SIGKILL');
      resolve({ ok, detail });
    };
    const timer = setTimeout(() => finish(false, `the test kernel did not boot under KVM within ${timeoutMs / 1000} s`), timeoutMs);
    const read = (b: Buffer) => {
      out += b.toString();
      const bad = BROKEN.exec(out);
      if (bad) finish(false, `QEMU under KVM: ${bad[0]}`);
      else if (WORKS.test(out)) finish(true, 'a test kernel booted under KVM');
    };
    child.stdout.on('data', read);
    child.stderr.on('data', read);
    child.on('error', (err) => finish(false, err.message));
    child.on('exit', () => finish(WORKS.test(out), WORKS.test(out) ? 'a test kernel booted under KVM' : `QEMU under KVM exited: ${out.trim().split('\n').slice(-2).join(' ')}`));
  });
}

/** The verdict for this host: forced by DROVER_ACCEL, else no usable /dev/kvm, else a test boot of the first kernel found. */
export async function kvmVerdict(qemuBinary: string, deviceOpens: boolean, kernels: readonly string[], env = process.env): Promise<KvmVerdict> {
  const forced = env['DROVER_ACCEL'];
  if (forced === 'kvm' || forced === 'tcg') return { kvm: forced === 'kvm', reason: `DROVER_ACCEL=${forced}`, final: true };
  if (!deviceOpens) return { kvm: false, reason: 'no usable /dev/kvm: TCG software emulation', final: true };
  if (settled) return settled;
  const file = cacheFile(env);
  const known = readCached(file, qemuBinary);
  if (known) return (settled = known);
  const kernel = kernels[0];
  if (!kernel) return { kvm: false, reason: '/dev/kvm opens but KVM is not tested yet (no guest kernel to boot): TCG until the tiny image exists', final: false };
  const r = await bootsUnderKvm(qemuBinary, kernel);
  settled = { kvm: r.ok, reason: r.ok ? `KVM (${r.detail})` : `/dev/kvm is there but guests do not run under it (${r.detail}): TCG software emulation`, final: true };
  writeCached(file, qemuBinary, settled);
  return settled;
}
