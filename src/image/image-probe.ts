// Identifying user-supplied image files. Disk formats are left to qemu-img; kernels and
// initrds are recognised by their magic bytes.
import { open } from 'node:fs/promises';
import { runCommand } from './run-command.js';

export interface DiskInfo {
  format: string;
  virtualSizeBytes: number;
  backingFile?: string;
  encrypted: boolean;
  corrupt: boolean;
}

/** `qemu-img info --output=json` of an absolute path (so no protocol prefix can sneak in). */
export async function qemuImgInfo(absPath: string): Promise<DiskInfo> {
  const { stdout } = await runCommand('qemu-img', ['info', '--output=json', absPath]);
  const info = JSON.parse(stdout) as Record<string, unknown>;
  const specific = info['format-specific'] as { data?: { corrupt?: boolean } } | undefined;
  return {
    format: String(info.format),
    virtualSizeBytes: Number(info['virtual-size']),
    backingFile: typeof info['backing-filename'] === 'string' ? info['backing-filename'] : undefined,
    encrypted: info.encrypted === true,
    corrupt: specific?.data?.corrupt === true,
  };
}

async function readBytes(file: string, offset: number, length: number): Promise<Buffer> {
  const fh = await open(file, 'r');
  try {
    const buf = Buffer.alloc(length);
    const { bytesRead } = await fh.read(buf, 0, length, offset);
    return buf.subarray(0, bytesRead);
  } finally {
    await fh.close();
  }
}

/** An x86 Linux bzImage carries the boot protocol signature "HdrS" at 0x202. */
export async function isBzImage(file: string): Promise<boolean> {
  return (await readBytes(file, 0x202, 4)).toString('latin1') === 'HdrS';
}

export type InitrdFormat = 'gzip' | 'xz' | 'zstd' | 'cpio';

const INITRD_MAGIC: ReadonlyArray<[InitrdFormat, Buffer]> = [
  ['gzip', Buffer.from([0x1f, 0x8b])],
  ['xz', Buffer.from([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00])],
  ['zstd', Buffer.from([0x28, 0xb5, 0x2f, 0xfd])],
  ['cpio', Buffer.from('070701', 'latin1')], // newc
  ['cpio', Buffer.from('070702', 'latin1')], // newc with checksums
];

/** The initrd's container format by magic, or null when it is none the kernel unpacks. */
export async function initrdFormat(file: string): Promise<InitrdFormat | null> {
  const head = await readBytes(file, 0, 8);
  const hit = INITRD_MAGIC.find(([, magic]) => head.subarray(0, magic.length).equals(magic));
  return hit ? hit[0] : null;
}
