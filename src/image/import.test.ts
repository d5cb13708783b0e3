import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { mkdtemp, readdir, rm, stat, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { ImageError } from './errors.js';
import { importImage } from './import.js';
import { listImages, readManifest, verifyImage } from './manifest.js';
import { runCommand } from './run-command.js';

let root: string;
let imagesDir: string;
const src = (name: string): string => path.join(root, 'src', name);

async function expectImageError(p: Promise<unknown>, field: string, message: RegExp): Promise<void> {
  const err = await p.then(
    () => null,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(ImageError);
  expect((err as ImageError).field).toBe(field);
  expect((err as ImageError).message).toMatch(message);
}

/** imagesDir holds exactly these images and no leftovers (temp dirs). */
async function expectImages(names: string[]): Promise<void> {
  expect((await readdir(imagesDir)).sort()).toEqual([...names].sort());
}

beforeAll(async () => {
  root = await mkdtemp(path.join(tmpdir(), 'drover-import-'));
  imagesDir = path.join(root, 'images');
  await runCommand('mkdir', ['-p', path.join(root, 'src')]);
  await runCommand('qemu-img', ['create', '-q', '-f', 'qcow2', src('base.qcow2'), '64M']);
  await runCommand('qemu-img', ['create', '-q', '-f', 'qcow2', '-b', src('base.qcow2'), '-F', 'qcow2', src('overlay.qcow2')]);
  await runCommand('qemu-img', ['create', '-q', '-f', 'vmdk', src('disk.vmdk'), '1M']);
  await writeFile(src('disk.raw'), '');
  await truncate(src('disk.raw'), 8 * 1024 * 1024);
  await writeFile(src('notes.txt'), 'hello, not a disk\n');
  const kernel = Buffer.alloc(4096);
  kernel.write('HdrS', 0x202, 'latin1');
  await writeFile(src('vmlinuz'), kernel);
  await writeFile(src('initrd.gz'), gzipSync(Buffer.from('070701...')));
  await writeFile(src('initrd.cpio'), Buffer.from('070701000000000000'));
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

describe('importImage', () => {
  it('imports a qcow2 disk as a copy and records its hash', async () => {
    const m = await importImage({ imagesDir, name: 'q1', file: src('base.qcow2') });
    expect(m).toMatchObject({ name: 'q1', kind: 'disk', disk: 'disk.qcow2', diskFormat: 'qcow2', source: 'imported' });
    expect(m.diskVirtualSizeBytes).toBe(64 * 1024 * 1024);
    expect(await readManifest(imagesDir, 'q1')).toEqual(m);
    expect(await verifyImage(imagesDir, m)).toBe(true);
    expect((await stat(src('base.qcow2'))).isFile()).toBe(true); // copied, not moved
  });

  it('imports a raw disk and keeps it sparse', async () => {
    const m = await importImage({ imagesDir, name: 'r1', file: src('disk.raw') });
    expect(m).toMatchObject({ kind: 'disk', disk: 'disk.raw', diskFormat: 'raw', diskVirtualSizeBytes: 8 * 1024 * 1024 });
    expect((await stat(path.join(imagesDir, 'r1', 'disk.raw'))).blocks).toBeLessThan(64);
  });

  it('imports a kernel and initrd pair with a blank base disk', async () => {
    const m = await importImage({ imagesDir, name: 'k1', kernel: src('vmlinuz'), initrd: src('initrd.gz'), cmdline: 'console=ttyS0 quiet' });
    expect(m).toMatchObject({ kind: 'kernel', kernel: 'vmlinuz', initrd: 'initrd.img', cmdline: 'console=ttyS0 quiet', disk: 'disk.qcow2' });
    expect(await verifyImage(imagesDir, m)).toBe(true);
    await importImage({ imagesDir, name: 'k2', kernel: src('vmlinuz'), initrd: src('initrd.cpio') });
    expect((await listImages(imagesDir)).map((i) => i.name)).toEqual(['k1', 'k2', 'q1', 'r1']);
  });

  it('refuses bad names and existing names', async () => {
    for (const name of ['', 'Upper', '-lead', 'a/b', '..', 'x'.repeat(64)]) {
      await expectImageError(importImage({ imagesDir, name, file: src('base.qcow2') }), 'name', /lowercase/);
    }
    await expectImageError(importImage({ imagesDir, name: 'q1', file: src('base.qcow2') }), 'name', /already exists/);
  });

  it('refuses files that are not qcow2 or raw disks, naming the field', async () => {
    await expectImageError(importImage({ imagesDir, name: 'bad1', file: src('notes.txt') }), 'file', /qcow2.*raw/);
    await expectImageError(importImage({ imagesDir, name: 'bad2', file: src('disk.vmdk') }), 'file', /vmdk; allowed: qcow2 or raw/);
    await expectImageError(importImage({ imagesDir, name: 'bad3', file: src('missing.qcow2') }), 'file', /does not exist/);
    await expectImageError(importImage({ imagesDir, name: 'bad4', file: root }), 'file', /not a regular file/);
    await expectImageError(importImage({ imagesDir, name: 'bad5', file: src('overlay.qcow2') }), 'file', /flatten it with qemu-img convert/);
  });

  it('refuses a kernel that is not a bzImage and an initrd of unknown format', async () => {
    const bad = { imagesDir, name: 'bad6' };
    await expectImageError(importImage({ ...bad, kernel: src('notes.txt'), initrd: src('initrd.gz') }), 'kernel', /bzImage/);
    await expectImageError(importImage({ ...bad, kernel: src('vmlinuz'), initrd: src('notes.txt') }), 'initrd', /gzip, xz, zstd or cpio/);
    await expectImageError(importImage({ ...bad, kernel: src('vmlinuz') }), 'initrd', /required/);
    await expectImageError(importImage({ ...bad, initrd: src('initrd.gz') }), 'kernel', /required/);
  });

  it('refuses ambiguous or empty requests', async () => {
    await expectImageError(importImage({ imagesDir, name: 'bad7' }), 'file', /give file/);
    await expectImageError(
      importImage({ imagesDir, name: 'bad8', file: src('disk.raw'), kernel: src('vmlinuz'), initrd: src('initrd.gz') }),
      'file',
      /not both/,
    );
    await expectImageError(importImage({ imagesDir, name: 'bad9', file: src('disk.raw'), cmdline: 'x' }), 'cmdline', /only/);
  });

  it('leaves nothing behind after failures', async () => {
    await expectImages(['k1', 'k2', 'q1', 'r1']);
  });
});
