// Builds the tiny image into a temp imagesDir (reusing the shared .deb download cache)
// and checks the cache rules: one build for concurrent callers, reuse while hashes
// match, rebuild after tampering.
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { appendFile, mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import { homedir, tmpdir } from 'node:os';
import path from 'node:path';
import { readManifest, verifyImage } from './manifest.js';
import { buildTinyImage, TINY_CMDLINE, type BuildProgress } from './tiny-build.js';

const downloadsDir = path.join(homedir(), '.cache/drover/downloads');
let root: string;

beforeAll(async () => {
  root = await mkdtemp(path.join(tmpdir(), 'drover-tiny-build-'));
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

describe('buildTinyImage', () => {
  it('builds once for concurrent callers, then reuses, then rebuilds a tampered image', async () => {
    const imagesDir = path.join(root, 'images');
    const stepsA: BuildProgress[] = [];
    const stepsB: BuildProgress[] = [];
    const [a, b] = await Promise.all([
      buildTinyImage({ imagesDir, downloadsDir, onProgress: (p) => stepsA.push(p) }),
      buildTinyImage({ imagesDir, downloadsDir, onProgress: (p) => stepsB.push(p) }),
    ]);
    expect(b).toEqual(a);
    const [builder, waiter] = stepsA.length > stepsB.length ? [stepsA, stepsB] : [stepsB, stepsA];
    expect(builder.map((s) => s.step)).toEqual(['download kernel', 'extract', 'modules', 'initramfs', 'disk', 'hash', 'hash']);
    expect(builder.at(-1)).toEqual({ step: 'hash', done: 6, total: 6, message: 'image ready' });
    expect(waiter).toEqual([{ step: 'hash', done: 6, total: 6, message: 'cached image is valid' }]);
    expect(a).toMatchObject({ name: 'tiny', kind: 'kernel', kernel: 'vmlinuz', initrd: 'initrd.img', disk: 'disk.qcow2' });
    expect(a.cmdline).toBe(TINY_CMDLINE);
    expect(a.diskVirtualSizeBytes).toBe(1024 ** 3);
    expect(a.kernelVersion).toMatch(/-cloud-amd64$/);
    expect(await readManifest(imagesDir, 'tiny')).toEqual(a);
    expect(await verifyImage(imagesDir, a)).toBe(true);
    expect((await readdir(imagesDir)).sort()).toEqual(['tiny']); // no temp dirs or lock left

    const again = await buildTinyImage({ imagesDir, downloadsDir });
    expect(again.createdAt).toBe(a.createdAt);

    await appendFile(path.join(imagesDir, 'tiny', 'initrd.img'), 'x');
    // Thin clones name the base disk as their backing file: a rebuild must keep its bytes.
    const disk = path.join(imagesDir, 'tiny', 'disk.qcow2');
    expect(spawnSync('qemu-io', ['-f', 'qcow2', '-c', 'write -P 0x5a 0 4k', disk]).status).toBe(0);
    const diskSha = createHash('sha256').update(await readFile(disk)).digest('hex');
    const rebuilt = await buildTinyImage({ imagesDir, downloadsDir });
    expect(rebuilt.createdAt).not.toBe(a.createdAt);
    expect(await verifyImage(imagesDir, rebuilt)).toBe(true);
    expect(rebuilt.files['disk.qcow2']?.sha256).toBe(diskSha);
  }, 180_000);
});
