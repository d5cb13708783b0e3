// Volumes of the local storage pool (a directory), made with qemu-img.
// Every call runs qemu-img with an argv array; a failure carries its stderr.
import { spawn } from 'node:child_process';
import fs from 'node:fs/promises';
import path from 'node:path';

export const QEMU_IMG = 'qemu-img';

/** qemu-img failed (or could not run); `stderr` is what it printed. */
export class StorageError extends Error {
  override name = 'StorageError';
  constructor(
    message: string,
    readonly stderr: string,
  ) {
    super(stderr.trim() ? `${message}: ${stderr.trim()}` : message);
  }
}

export interface ThinCloneOptions {
  path: string;
  backingFile: string;
  backingFormat: 'qcow2' | 'raw';
  /** Defaults to the backing file's virtual size. */
  sizeBytes?: number;
}

export interface VolumeInfo {
  virtualSizeBytes: number;
  actualSizeBytes: number;
  format: string;
  backingFile?: string;
}

/** A qcow2 overlay on backingFile. Written to a temp name and renamed, so a crash never leaves half a volume. */
export async function createThinClone(opts: ThinCloneOptions): Promise<void> {
  const backing = path.resolve(opts.backingFile);
  const size = opts.sizeBytes === undefined ? [] : [String(opts.sizeBytes)];
  await createAtomically(opts.path, (tmp) => ['create', '-q', '-f', 'qcow2', '-F', opts.backingFormat, '-b', backing, tmp, ...size]);
}

/** An empty qcow2 volume of sizeBytes. */
export async function createBlank(opts: { path: string; sizeBytes: number }): Promise<void> {
  await createAtomically(opts.path, (tmp) => ['create', '-q', '-f', 'qcow2', tmp, String(opts.sizeBytes)]);
}

export async function volumeInfo(file: string): Promise<VolumeInfo> {
  // -U: the volume may be open in a running QEMU, which holds its lock.
  const out = await runQemuImg(['info', '-U', '--output=json', file], `cannot read volume ${file}`);
  const info = JSON.parse(out) as { 'virtual-size': number; 'actual-size'?: number; format: string; 'backing-filename'?: string };
  return {
    virtualSizeBytes: info['virtual-size'],
    actualSizeBytes: info['actual-size'] ?? 0,
    format: info.format,
    ...(info['backing-filename'] ? { backingFile: info['backing-filename'] } : {}),
  };
}

/** Removes the volume; a volume that is already gone is fine. */
export async function deleteVolume(file: string): Promise<void> {
  await fs.rm(file, { force: true });
}

export async function volumeExists(file: string): Promise<boolean> {
  return fs.stat(file).then(
    (s) => s.isFile(),
    () => false,
  );
}

async function createAtomically(target: string, argv: (tmp: string) => string[]): Promise<void> {
  await fs.mkdir(path.dirname(target), { recursive: true });
  const tmp = path.join(path.dirname(target), `.${path.basename(target)}.tmp-${process.pid}`);
  try {
    await runQemuImg(argv(tmp), `cannot create volume ${target}`);
    await fs.rename(tmp, target);
  } finally {
    await fs.rm(tmp, { force: true });
  }
}

/** Runs qemu-img; resolves its stdout, or throws a StorageError with its stderr. */
export function runQemuImg(args: string[], what: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(QEMU_IMG, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', (err) => reject(new StorageError(`${what}: cannot run ${QEMU_IMG} (${err.message}); install the Debian package qemu-utils`, '')));
    child.on('close', (code, signal) => {
      if (code === 0) resolve(stdout);
      else reject(new StorageError(`${what}: ${QEMU_IMG} ${args[0]} failed (${signal ?? `exit ${code}`})`, stderr));
    });
  });
}
