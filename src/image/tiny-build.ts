// Builds the "tiny" guest image: Debian cloud kernel + busybox initramfs + blank base disk.
import { createHash } from 'node:crypto';
import { copyFile, mkdir, mkdtemp, readFile, rename, rm } from 'node:fs/promises';
import path from 'node:path';
import { withBuildLock } from './build-lock.js';
import { installBusybox, installOverlay, packInitramfs, tinySourceDir, TINY_OVERLAY, writeModuleOrder } from './initramfs.js';
import { downloadKernelPackage, extractKernelPackage, findKernelPackage } from './kernel-package.js';
import { stageModules, TINY_MODULES } from './kernel-modules.js';
import { describeFiles, imageDir, readManifest, verifyImage, writeManifest, type ImageManifest } from './manifest.js';
import { runCommand } from './run-command.js';

export interface BuildProgress {
  step: string;
  done: number;
  total: number;
  message?: string;
}

export interface BuildTinyOptions {
  imagesDir: string;
  force?: boolean;
  onProgress?: (p: BuildProgress) => void;
  /** Where kernel .debs are cached; default `<imagesDir>/../downloads`. */
  downloadsDir?: string;
  /** Static busybox to install; default /bin/busybox (Debian package busybox-static). */
  busybox?: string;
  /**
   * Pin the kernel: a package name like linux-image-6.1.0-56-cloud-amd64. Default: the
   * newest of Debian's default cloud kernel line (see findKernelPackage).
   */
  kernelPackage?: string;
}

export const TINY_IMAGE = 'tiny';
/** Default kernel command line; the launcher appends drover.hostname=... (and drover.ip/gw). */
// swiotlb=noforce: with maxmem set, q35 places hot-pluggable memory above 4 GiB and the
// kernel would reserve a 64 MiB bounce buffer out of a 256 MiB guest; virtio needs none.
export const TINY_CMDLINE = 'console=ttyS0 memhp_default_state=online swiotlb=noforce quiet panic=5';
export const TINY_DISK_BYTES = 1024 ** 3;
/** Bump when the kernel choice changes, so cached images built by the old rule are rebuilt. */
const KERNEL_POLICY = 'kernel: newest of the linux-image-cloud-amd64 line (v2)';
const STEPS = ['download kernel', 'extract', 'modules', 'initramfs', 'disk', 'hash'] as const;
type Step = (typeof STEPS)[number];

/** Hash of everything the image is built from except the kernel package: a change forces a rebuild. */
export async function tinyRecipeHash(busybox: string): Promise<string> {
  const hash = createHash('sha256');
  const source = tinySourceDir();
  for (const { src, dest, mode } of TINY_OVERLAY) {
    hash.update(`${src}>${dest}:${mode}\n`).update(await readFile(path.join(source, src)));
  }
  hash.update(TINY_MODULES.join(',')).update(TINY_CMDLINE).update(String(TINY_DISK_BYTES));
  hash.update(KERNEL_POLICY);
  hash.update(await readFile(busybox).catch(() => Buffer.alloc(0)));
  return hash.digest('hex');
}

/** The existing tiny image if its recipe matches and every file hash checks out. */
async function reusableImage(imagesDir: string, recipe: string, kernelPackage?: string): Promise<ImageManifest | null> {
  const m = await readManifest(imagesDir, TINY_IMAGE);
  if (!m || m.source !== 'built' || m.recipeSha256 !== recipe) return null;
  if (kernelPackage && `linux-image-${m.kernelVersion}` !== kernelPackage) return null;
  return (await verifyImage(imagesDir, m)) ? m : null;
}

export async function buildTinyImage(opts: BuildTinyOptions): Promise<ImageManifest> {
  const imagesDir = path.resolve(opts.imagesDir);
  const busybox = opts.busybox ?? '/bin/busybox';
  const recipe = await tinyRecipeHash(busybox);
  const cached = async (): Promise<ImageManifest | null> => {
    const existing = opts.force ? null : await reusableImage(imagesDir, recipe, opts.kernelPackage);
    if (existing) opts.onProgress?.({ step: 'hash', done: STEPS.length, total: STEPS.length, message: 'cached image is valid' });
    return existing;
  };
  const fast = await cached();
  if (fast) return fast;
  await mkdir(imagesDir, { recursive: true });
  // One build at a time per imagesDir; whoever waited may find the other's result.
  return withBuildLock(path.join(imagesDir, '.tiny.lock'), async () => {
    const existing = await cached();
    return existing ?? buildFresh({ ...opts, imagesDir, busybox, recipe });
  });
}

async function buildFresh(opts: Omit<BuildContext, 'report'>): Promise<ImageManifest> {
  const report = (step: Step, message?: string): void =>
    opts.onProgress?.({ step, done: STEPS.indexOf(step), total: STEPS.length, message });
  // Build in a temp dir inside imagesDir, then rename into place: no half-built image is ever visible.
  const work = await mkdtemp(path.join(opts.imagesDir, '.tiny-build-'));
  try {
    const out = path.join(work, 'image');
    await mkdir(out);
    const manifest = await buildInto(work, out, { ...opts, report });
    await installImage(opts.imagesDir, out);
    opts.onProgress?.({ step: 'hash', done: STEPS.length, total: STEPS.length, message: 'image ready' });
    return manifest;
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

interface BuildContext extends BuildTinyOptions {
  busybox: string;
  recipe: string;
  report: (step: Step, message?: string) => void;
}

async function buildInto(work: string, out: string, ctx: BuildContext): Promise<ImageManifest> {
  const downloadsDir = ctx.downloadsDir ?? path.join(path.dirname(ctx.imagesDir), 'downloads');
  ctx.report('download kernel');
  const pkg = await findKernelPackage(downloadsDir, ctx.kernelPackage);
  const deb = await downloadKernelPackage(pkg, downloadsDir);

  ctx.report('extract', `${pkg.name} ${pkg.version}`);
  const kernel = await extractKernelPackage(deb, path.join(work, 'deb'));
  await copyFile(kernel.vmlinuz, path.join(out, 'vmlinuz'));

  ctx.report('modules');
  const root = path.join(work, 'root');
  await mkdir(path.join(root, 'lib/modules'), { recursive: true });
  const modules = await stageModules(kernel.modulesDir, path.join(root, 'lib/modules'), TINY_MODULES);
  await rm(path.join(work, 'deb'), { recursive: true, force: true });

  ctx.report('initramfs', `modules: ${modules.order.join(' ')}; built in: ${modules.builtin.join(' ')}`);
  await installBusybox(ctx.busybox, root);
  await installOverlay(tinySourceDir(), root);
  await writeModuleOrder(root, modules.order);
  await packInitramfs(root, path.join(out, 'initrd.img'));

  ctx.report('disk');
  await makeBaseDisk(path.join(imageDir(ctx.imagesDir, TINY_IMAGE), 'disk.qcow2'), path.join(out, 'disk.qcow2'));

  ctx.report('hash');
  const manifest: ImageManifest = {
    name: TINY_IMAGE,
    kind: 'kernel',
    kernel: 'vmlinuz',
    initrd: 'initrd.img',
    cmdline: TINY_CMDLINE,
    disk: 'disk.qcow2',
    diskFormat: 'qcow2',
    diskVirtualSizeBytes: TINY_DISK_BYTES,
    kernelVersion: kernel.version,
    recipeSha256: ctx.recipe,
    files: await describeFiles(out, ['vmlinuz', 'initrd.img', 'disk.qcow2']),
    createdAt: new Date().toISOString(),
    source: 'built',
  };
  await writeManifest(out, manifest);
  return manifest;
}

/**
 * The blank base disk that VMs' boot volumes are thin clones of. A rebuild
 * keeps the bytes of the disk already there: existing clones name it as their
 * backing file, so it must never change under them.
 */
async function makeBaseDisk(existing: string, target: string): Promise<void> {
  try {
    await copyFile(existing, target);
    return;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
  }
  await runCommand('qemu-img', ['create', '-q', '-f', 'qcow2', target, String(TINY_DISK_BYTES)]);
}

/** Replaces <imagesDir>/tiny with the freshly built dir (the old one is moved aside, then removed). */
async function installImage(imagesDir: string, built: string): Promise<void> {
  const target = imageDir(imagesDir, TINY_IMAGE);
  const old = `${built}.old`;
  await rename(target, old).catch((e: NodeJS.ErrnoException) => {
    if (e.code !== 'ENOENT') throw e;
  });
  await rename(built, target);
  await rm(old, { recursive: true, force: true });
}
