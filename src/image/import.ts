// Importing a user's disk image (qcow2/raw) or kernel+initrd pair as a named image.
import { mkdir, mkdtemp, rename, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import { ImageError } from './errors.js';
import { initrdFormat, isBzImage, qemuImgInfo } from './image-probe.js';
import { describeFiles, imageDir, isValidImageName, writeManifest, type ImageManifest } from './manifest.js';
import { runCommand } from './run-command.js';

export interface ImportImageOptions {
  imagesDir: string;
  name: string;
  /** A qcow2 or raw disk image. */
  file?: string;
  /** A bzImage kernel; needs `initrd`. */
  kernel?: string;
  initrd?: string;
  /** Default kernel command line of a kernel import. */
  cmdline?: string;
}

export const DEFAULT_IMPORT_CMDLINE = 'console=ttyS0';
/** Blank base disk given to kernel imports, so every image has a disk to thin-clone. */
const KERNEL_IMPORT_DISK_BYTES = 1024 ** 3;

export async function importImage(opts: ImportImageOptions): Promise<ImageManifest> {
  checkRequest(opts);
  const imagesDir = path.resolve(opts.imagesDir);
  const target = imageDir(imagesDir, opts.name);
  if (await exists(target)) throw new ImageError('name', `an image named "${opts.name}" already exists; choose another name`);
  await mkdir(imagesDir, { recursive: true });
  // Assemble in a temp dir inside imagesDir and rename it into place: a failure leaves nothing behind.
  const work = await mkdtemp(path.join(imagesDir, `.import-${opts.name}-`));
  try {
    const manifest = opts.file !== undefined ? await importDisk(work, opts, opts.file) : await importKernel(work, opts);
    await writeManifest(work, manifest);
    await rename(work, target).catch((e: NodeJS.ErrnoException) => {
      if (e.code !== 'ENOTEMPTY' && e.code !== 'EEXIST') throw e;
      throw new ImageError('name', `an image named "${opts.name}" already exists; choose another name`);
    });
    return manifest;
  } catch (e) {
    await rm(work, { recursive: true, force: true });
    throw e;
  }
}

function checkRequest(opts: ImportImageOptions): void {
  if (!isValidImageName(opts.name)) {
    throw new ImageError('name', 'name must be 1-63 lowercase letters, digits or dashes, starting with a letter or digit');
  }
  const hasKernel = opts.kernel !== undefined || opts.initrd !== undefined;
  if (opts.file !== undefined && hasKernel) {
    throw new ImageError('file', 'give either file (a disk image) or kernel and initrd, not both');
  }
  if (opts.file === undefined && !hasKernel) {
    throw new ImageError('file', 'give file (a qcow2 or raw disk image), or kernel and initrd');
  }
  if (hasKernel && opts.kernel === undefined) throw new ImageError('kernel', 'kernel (a bzImage) is required with initrd');
  if (hasKernel && opts.initrd === undefined) throw new ImageError('initrd', 'initrd is required with kernel');
  if (opts.cmdline !== undefined && !hasKernel) throw new ImageError('cmdline', 'cmdline applies only to kernel and initrd imports');
  if (opts.cmdline !== undefined && (opts.cmdline.length > 4096 || /[\0\n\r]/.test(opts.cmdline))) {
    throw new ImageError('cmdline', 'cmdline must be one line of at most 4096 characters');
  }
}

async function exists(p: string): Promise<boolean> {
  return stat(p).then(
    () => true,
    () => false,
  );
}

/** Absolute path of a user-supplied regular file, or an ImageError naming the field. */
async function sourceFile(field: string, file: string): Promise<{ abs: string; size: number }> {
  const abs = path.resolve(file);
  const st = await stat(abs).catch(() => null);
  if (!st) throw new ImageError(field, `${field} ${file} does not exist`);
  if (!st.isFile()) throw new ImageError(field, `${field} ${file} is not a regular file`);
  return { abs, size: st.size };
}

/** Copies without moving, keeping holes (sparse raw disks stay small). */
async function copySparse(src: string, dest: string): Promise<void> {
  await runCommand('cp', ['--reflink=auto', '--sparse=always', '--', src, dest]);
}

async function probeDisk(file: string): Promise<{ abs: string; format: 'qcow2' | 'raw' }> {
  const { abs, size } = await sourceFile('file', file);
  const info = await qemuImgInfo(abs).catch((e: Error) => {
    throw new ImageError('file', `file ${file} is not a readable disk image (${e.message}); allowed: qcow2 or raw`);
  });
  if (info.format !== 'qcow2' && info.format !== 'raw') {
    throw new ImageError('file', `file ${file} is ${info.format}; allowed: qcow2 or raw (convert it with qemu-img convert -O qcow2)`);
  }
  if (info.format === 'raw' && (size === 0 || size % 512 !== 0)) {
    throw new ImageError('file', `file ${file} is not a disk image: allowed are qcow2, or raw with a size that is a non-zero multiple of 512 bytes`);
  }
  if (info.backingFile !== undefined) {
    throw new ImageError('file', `file ${file} has a backing file (${info.backingFile}); flatten it with qemu-img convert -O qcow2 first`);
  }
  if (info.encrypted) throw new ImageError('file', `file ${file} is encrypted; decrypt it with qemu-img convert first`);
  if (info.corrupt) throw new ImageError('file', `file ${file} is marked corrupt; repair it with qemu-img check -r all first`);
  return { abs, format: info.format };
}

async function importDisk(work: string, opts: ImportImageOptions, file: string): Promise<ImageManifest> {
  const { abs, format } = await probeDisk(file);
  const disk = `disk.${format}`;
  await copySparse(abs, path.join(work, disk));
  const copied = await qemuImgInfo(path.join(work, disk));
  return {
    name: opts.name,
    kind: 'disk',
    disk,
    diskFormat: format,
    diskVirtualSizeBytes: copied.virtualSizeBytes,
    files: await describeFiles(work, [disk]),
    createdAt: new Date().toISOString(),
    source: 'imported',
  };
}

async function importKernel(work: string, opts: ImportImageOptions): Promise<ImageManifest> {
  const kernel = await sourceFile('kernel', opts.kernel!);
  const initrd = await sourceFile('initrd', opts.initrd!);
  if (!(await isBzImage(kernel.abs))) {
    throw new ImageError('kernel', `kernel ${opts.kernel} is not an x86 Linux bzImage (no "HdrS" header at 0x202)`);
  }
  if ((await initrdFormat(initrd.abs)) === null) {
    throw new ImageError('initrd', `initrd ${opts.initrd} is not an initramfs: allowed are gzip, xz, zstd or cpio (newc) archives`);
  }
  await copySparse(kernel.abs, path.join(work, 'vmlinuz'));
  await copySparse(initrd.abs, path.join(work, 'initrd.img'));
  await runCommand('qemu-img', ['create', '-q', '-f', 'qcow2', path.join(work, 'disk.qcow2'), String(KERNEL_IMPORT_DISK_BYTES)]);
  return {
    name: opts.name,
    kind: 'kernel',
    kernel: 'vmlinuz',
    initrd: 'initrd.img',
    cmdline: opts.cmdline ?? DEFAULT_IMPORT_CMDLINE,
    disk: 'disk.qcow2',
    diskFormat: 'qcow2',
    diskVirtualSizeBytes: KERNEL_IMPORT_DISK_BYTES,
    files: await describeFiles(work, ['vmlinuz', 'initrd.img', 'disk.qcow2']),
    createdAt: new Date().toISOString(),
    source: 'imported',
  };
}
