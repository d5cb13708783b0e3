import { describe, it, expect, beforeEach, afterEach } from 'vitest';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describeFiles, imageDir, listImages, readManifest, verifyImage, writeManifest, type ImageManifest } from './manifest.js';

let imagesDir: string;

beforeEach(async () => {
  imagesDir = await mkdtemp(path.join(tmpdir(), 'drover-manifest-'));
});
afterEach(async () => {
  await rm(imagesDir, { recursive: true, force: true });
});

async function makeImage(name: string, files: Record<string, string>): Promise<ImageManifest> {
  const dir = imageDir(imagesDir, name);
  await mkdir(dir, { recursive: true });
  for (const [f, content] of Object.entries(files)) await writeFile(path.join(dir, f), content);
  const m: ImageManifest = {
    name,
    kind: 'disk',
    disk: 'disk.raw',
    diskFormat: 'raw',
    files: await describeFiles(dir, Object.keys(files)),
    createdAt: new Date(0).toISOString(),
    source: 'imported',
  };
  await writeManifest(dir, m);
  return m;
}

describe('manifest', () => {
  it('places images under imagesDir by name and rejects bad names', () => {
    expect(imageDir('/x/images', 'tiny')).toBe('/x/images/tiny');
    expect(() => imageDir('/x/images', '../etc')).toThrow(/invalid image name/);
  });

  it('round-trips a manifest and lists images by name', async () => {
    const b = await makeImage('b-image', { 'disk.raw': 'bbbb' });
    await makeImage('a-image', { 'disk.raw': 'aaaa' });
    await mkdir(path.join(imagesDir, '.import-tmp'));
    await mkdir(path.join(imagesDir, 'no-manifest'));
    expect(await readManifest(imagesDir, 'b-image')).toEqual(b);
    expect((await listImages(imagesDir)).map((m) => m.name)).toEqual(['a-image', 'b-image']);
  });

  it('returns null for a missing, unreadable or mismatched manifest', async () => {
    expect(await readManifest(imagesDir, 'nope')).toBeNull();
    await mkdir(path.join(imagesDir, 'broken'));
    await writeFile(path.join(imagesDir, 'broken', 'manifest.json'), '{not json');
    expect(await readManifest(imagesDir, 'broken')).toBeNull();
    const m = await makeImage('real', { 'disk.raw': 'x' });
    await mkdir(path.join(imagesDir, 'copy'));
    await writeManifest(path.join(imagesDir, 'copy'), m); // says name "real"
    expect(await readManifest(imagesDir, 'copy')).toBeNull();
    expect(await listImages(path.join(imagesDir, 'absent'))).toEqual([]);
  });

  it('verifies sizes and hashes of every file', async () => {
    const m = await makeImage('v', { 'disk.raw': 'original' });
    expect(await verifyImage(imagesDir, m)).toBe(true);
    await writeFile(path.join(imagesDir, 'v', 'disk.raw'), 'ORIGINAL'); // same size, other bytes
    expect(await verifyImage(imagesDir, m)).toBe(false);
    await rm(path.join(imagesDir, 'v', 'disk.raw'));
    expect(await verifyImage(imagesDir, m)).toBe(false);
  });

  it('rejects manifests that point outside the image dir or at unlisted files', async () => {
    const m = await makeImage('w', { 'disk.raw': 'data' });
    expect(await verifyImage(imagesDir, { ...m, files: { '../w/disk.raw': m.files['disk.raw']! } })).toBe(false);
    expect(await verifyImage(imagesDir, { ...m, disk: 'other.raw' })).toBe(false);
  });
});
