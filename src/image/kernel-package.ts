// Finding, downloading and unpacking the Debian cloud kernel for the tiny guest.
import { mkdir, mkdtemp, readdir, rename, rm } from 'node:fs/promises';
import path from 'node:path';
import { compareDebianVersions } from './debian-version.js';
import { runCommand } from './run-command.js';

export interface KernelPackage {
  name: string;
  version: string;
}

/** Concrete kernel packages only: not the meta packages (linux-image-cloud-amd64, linux-image-6.12-cloud-amd64). */
const KERNEL_PACKAGE = /^linux-image-\d+\.\d+\.\d+[^\s_]*-cloud-amd64$/;

export function isKernelPackageName(name: string): boolean {
  return KERNEL_PACKAGE.test(name);
}

export function pickNewest(packages: readonly KernelPackage[]): KernelPackage | undefined {
  return [...packages].sort((a, b) => compareDebianVersions(b.version, a.version))[0];
}

/** Candidate versions out of `apt-cache policy A B ...`; packages without a candidate are left out. */
export function parseAptPolicy(stdout: string): KernelPackage[] {
  const found: KernelPackage[] = [];
  let current: string | undefined;
  for (const line of stdout.split('\n')) {
    const head = /^(\S+):$/.exec(line);
    if (head) current = head[1];
    const cand = /^\s+Candidate:\s+(\S+)/.exec(line);
    if (cand && current && cand[1] !== '(none)') found.push({ name: current, version: cand[1]! });
  }
  return found;
}

/** The file name apt-get download gives a package (an epoch's ':' becomes %3a). */
export function debFileName(pkg: KernelPackage): string {
  return `${pkg.name}_${pkg.version.replace(':', '%3a')}_amd64.deb`;
}

export function parseDebFileName(file: string): KernelPackage | null {
  const m = /^([^_]+)_([^_]+)_amd64\.deb$/.exec(file);
  if (!m || !isKernelPackageName(m[1]!)) return null;
  return { name: m[1]!, version: decodeURIComponent(m[2]!) };
}

/** Debian's default cloud kernel line: what the linux-image-cloud-amd64 meta package depends on. */
export const DEFAULT_KERNEL_META = 'linux-image-cloud-amd64';

/** The concrete kernel package named in `apt-cache depends <meta>` output. */
export function parseAptDepends(stdout: string): string | undefined {
  for (const line of stdout.split('\n')) {
    const m = /^\s*\|?Depends:\s+(\S+)/.exec(line);
    if (m && isKernelPackageName(m[1]!)) return m[1];
  }
  return undefined;
}

/** Concrete kernel package names apt knows: `only` alone, else the default line, else all of them. */
async function aptKernelNames(only?: string): Promise<string[]> {
  const all = (await runCommand('apt-cache', ['pkgnames', 'linux-image-'])).stdout.split('\n').filter(isKernelPackageName);
  if (only !== undefined) return all.filter((n) => n === only);
  const meta = await runCommand('apt-cache', ['depends', DEFAULT_KERNEL_META]).catch(() => ({ stdout: '' }));
  const preferred = parseAptDepends(meta.stdout);
  return preferred && all.includes(preferred) ? [preferred] : all;
}

async function aptKernelCandidates(only?: string): Promise<KernelPackage[]> {
  const names = await aptKernelNames(only);
  if (names.length === 0) return [];
  return parseAptPolicy((await runCommand('apt-cache', ['policy', ...names])).stdout);
}

async function cachedKernelDebs(downloadsDir: string): Promise<KernelPackage[]> {
  const files = await readdir(downloadsDir).catch(() => [] as string[]);
  return files.map(parseDebFileName).filter((p): p is KernelPackage => p !== null);
}

const isRoot = (): boolean => process.getuid?.() === 0;

/**
 * The kernel to build with: `only` if given, else the newest version of Debian's default
 * cloud kernel (the target of linux-image-cloud-amd64), else the newest
 * linux-image-*-cloud-amd64. Runs `apt-get update` first when apt knows none and we are
 * root; falls back to a .deb cached in downloadsDir.
 *
 * Why not simply the newest: the bookworm 6.12 backport kernels ignore QEMU's legacy
 * "disabled" MADT CPU entries unless they detect a hypervisor, which they do not under
 * TCG, so hot-added vCPUs never appear there. The 6.1 line accepts them.
 */
export async function findKernelPackage(downloadsDir: string, only?: string): Promise<KernelPackage> {
  if (only !== undefined && !isKernelPackageName(only)) {
    throw new Error(`${only} is not a kernel package name like linux-image-6.1.0-56-cloud-amd64`);
  }
  let candidates = await aptKernelCandidates(only);
  if (candidates.length === 0 && isRoot()) {
    await runCommand('apt-get', ['update']);
    candidates = await aptKernelCandidates(only);
  }
  if (candidates.length === 0) {
    candidates = (await cachedKernelDebs(downloadsDir)).filter((p) => only === undefined || p.name === only);
  }
  const newest = pickNewest(candidates);
  if (!newest) {
    throw new Error(
      `no ${only ?? 'linux-image-*-cloud-amd64'} kernel package is known to apt and none is cached in ` +
        `${downloadsDir}; run "sudo apt-get update" (the Debian main archive must be configured), then retry`,
    );
  }
  return newest;
}

/**
 * The package's .deb in downloadsDir, downloaded with `apt-get download` unless already
 * there. Other kernel .debs are removed, so the offline fallback finds only this one.
 */
export async function downloadKernelPackage(pkg: KernelPackage, downloadsDir: string): Promise<string> {
  await mkdir(downloadsDir, { recursive: true });
  const file = await fetchDeb(pkg, downloadsDir);
  for (const other of await readdir(downloadsDir)) {
    if (other !== path.basename(file) && parseDebFileName(other)) await rm(path.join(downloadsDir, other), { force: true });
  }
  return file;
}

async function fetchDeb(pkg: KernelPackage, downloadsDir: string): Promise<string> {
  const target = path.join(downloadsDir, debFileName(pkg));
  if ((await readdir(downloadsDir)).includes(debFileName(pkg))) return target;
  // Download into a temp dir and rename, so an interrupted download is never reused.
  const tmp = await mkdtemp(path.join(downloadsDir, '.download-'));
  try {
    await runCommand('apt-get', ['download', `${pkg.name}=${pkg.version}`], { cwd: tmp });
    const [file] = (await readdir(tmp)).filter((f) => f.endsWith('.deb'));
    if (!file) throw new Error(`apt-get download ${pkg.name}=${pkg.version} produced no .deb`);
    await rename(path.join(tmp, file), target);
    return target;
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
}

export interface ExtractedKernel {
  root: string;
  version: string;
  vmlinuz: string;
  modulesDir: string;
}

/** Unpacks the .deb into dir (dpkg-deb -x) and locates vmlinuz and the modules tree. */
export async function extractKernelPackage(deb: string, dir: string): Promise<ExtractedKernel> {
  await runCommand('dpkg-deb', ['-x', deb, dir]);
  for (const libDir of ['lib/modules', 'usr/lib/modules']) {
    const versions = await readdir(path.join(dir, libDir)).catch(() => [] as string[]);
    const version = versions[0];
    if (version) {
      return {
        root: dir,
        version,
        vmlinuz: path.join(dir, 'boot', `vmlinuz-${version}`),
        modulesDir: path.join(dir, libDir, version),
      };
    }
  }
  throw new Error(`${path.basename(deb)} holds no lib/modules/<version> directory`);
}
