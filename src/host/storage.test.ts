import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { StorageError, createBlank, createThinClone, deleteVolume, runQemuImg, volumeExists, volumeInfo } from './storage.js';

const MiB = 1024 ** 2;

describe('storage (real qemu-img)', () => {
  let dir: string;
  let base: string;

  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'drover-storage-'));
    base = path.join(dir, 'base.qcow2');
    await runQemuImg(['create', '-q', '-f', 'qcow2', base, String(64 * MiB)], 'base');
  });
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('creates a blank volume and reads its sizes', async () => {
    const file = path.join(dir, 'pool', 'vm1', 'data.qcow2');
    await createBlank({ path: file, sizeBytes: 32 * MiB });
    const info = await volumeInfo(file);
    expect(info.virtualSizeBytes).toBe(32 * MiB);
    expect(info.actualSizeBytes).toBeGreaterThan(0);
    expect(info.actualSizeBytes).toBeLessThan(32 * MiB);
    expect(info.format).toBe('qcow2');
    expect(info.backingFile).toBeUndefined();
  });

  it('creates a thin clone on a backing file, with the backing size or a larger one', async () => {
    const same = path.join(dir, 'clone-same.qcow2');
    await createThinClone({ path: same, backingFile: base, backingFormat: 'qcow2' });
    expect(await volumeInfo(same)).toMatchObject({ virtualSizeBytes: 64 * MiB, backingFile: base });
    const bigger = path.join(dir, 'clone-big.qcow2');
    await createThinClone({ path: bigger, backingFile: base, backingFormat: 'qcow2', sizeBytes: 128 * MiB });
    expect((await volumeInfo(bigger)).virtualSizeBytes).toBe(128 * MiB);
  });

  it("fails with qemu-img's stderr and leaves no file behind", async () => {
    const file = path.join(dir, 'bad.qcow2');
    const err = await createThinClone({ path: file, backingFile: path.join(dir, 'nope.qcow2'), backingFormat: 'qcow2' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(StorageError);
    expect((err as StorageError).message).toContain('nope.qcow2');
    expect((err as StorageError).stderr).not.toBe('');
    expect(fs.readdirSync(dir).filter((f) => f.includes('bad'))).toEqual([]);
  });

  it('reports a missing volume as an error', async () => {
    await expect(volumeInfo(path.join(dir, 'missing.qcow2'))).rejects.toBeInstanceOf(StorageError);
  });

  it('deletes idempotently', async () => {
    const file = path.join(dir, 'gone.qcow2');
    await createBlank({ path: file, sizeBytes: MiB });
    expect(await volumeExists(file)).toBe(true);
    await deleteVolume(file);
    await deleteVolume(file);
    expect(await volumeExists(file)).toBe(false);
  });
});
