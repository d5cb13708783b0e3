// A VM's volumes in the local pool: created from its assignment (boot:
// thin clone of the image's disk; data: blank), reported, and removed.
import fs from 'node:fs';
import type { VmAssignment, VolumeReport } from '../api/agent-protocol.js';
import { createBlank, createThinClone, deleteVolume, volumeInfo } from '../host/storage.js';
import { imageDir, readManifest, type ImageManifest } from '../image/manifest.js';
import { backingOf } from './qemu-spec.js';
import { vmVolumesDir, volumePath, type AgentPaths, type PoolKind } from './state-files.js';

export interface ImageRef {
  manifest: ImageManifest;
  dir: string;
}

/** The image's manifest, or an error that says how to get the image onto this host. */
export async function findImage(imagesDir: string, name: string): Promise<ImageRef> {
  const manifest = await readManifest(imagesDir, name);
  if (!manifest) throw new Error(`image "${name}" is not on this host (no ${imageDir(imagesDir, name)}/manifest.json); build or import it first`);
  return { manifest, dir: imageDir(imagesDir, name) };
}

export function missingVolumes(paths: AgentPaths, a: VmAssignment): string[] {
  return a.spec.volumes.filter((v) => !fs.existsSync(volumePath(paths, a.id, v.id, a.spec.storage))).map((v) => v.id);
}

/**
 * Creates every volume of the assignment that does not exist yet, and tells
 * `sizes` each new volume's virtual size (so reporting it needs no qemu-img run).
 */
export async function createMissingVolumes(paths: AgentPaths, imagesDir: string, a: VmAssignment, sizes: VolumeReporter): Promise<void> {
  for (const v of a.spec.volumes) {
    const file = volumePath(paths, a.id, v.id, a.spec.storage);
    if (fs.existsSync(file)) continue;
    if (v.role === 'boot' || v.backingImage) {
      const image = await findImage(imagesDir, v.backingImage ?? a.spec.image);
      const backing = backingOf(image);
      const baseBytes = image.manifest.diskVirtualSizeBytes ?? (await volumeInfo(backing.file)).virtualSizeBytes;
      // A clone is never smaller than its base; qemu-img refuses to shrink.
      const sizeBytes = Math.max(v.sizeBytes, baseBytes);
      await createThinClone({ path: file, backingFile: backing.file, backingFormat: backing.format, sizeBytes });
      sizes.know(file, sizeBytes);
    } else {
      await createBlank({ path: file, sizeBytes: v.sizeBytes });
      sizes.know(file, v.sizeBytes);
    }
  }
}

/** Deletes the VM's volumes in `pool` and its directory there. */
export async function removeVolumes(paths: AgentPaths, vmId: string, pool: PoolKind = 'local'): Promise<void> {
  const dir = vmVolumesDir(paths, vmId, pool);
  let names: string[] = [];
  try {
    names = fs.readdirSync(dir);
  } catch {
    return;
  }
  for (const name of names) await deleteVolume(`${dir}/${name}`);
  fs.rmSync(dir, { recursive: true, force: true });
}

/**
 * Reports of the volumes that exist. The virtual size comes from qemu-img
 * once per file; the allocated size from stat on every report (it is what
 * qemu-img's actual-size is, without a process per volume every 2 s).
 */
export class VolumeReporter {
  private readonly virtualSizes = new Map<string, number>();

  async report(paths: AgentPaths, a: VmAssignment): Promise<VolumeReport[]> {
    const out: VolumeReport[] = [];
    for (const v of a.spec.volumes) {
      const file = volumePath(paths, a.id, v.id, a.spec.storage);
      let st: fs.Stats;
      try {
        st = fs.statSync(file);
      } catch {
        continue;
      }
      out.push({ id: v.id, path: file, virtualSizeBytes: await this.virtualSize(file), actualSizeBytes: st.blocks * 512 });
    }
    return out;
  }

  private async virtualSize(file: string): Promise<number> {
    let size = this.virtualSizes.get(file);
    if (size === undefined) {
      size = (await volumeInfo(file)).virtualSizeBytes;
      this.virtualSizes.set(file, size);
    }
    return size;
  }

  /** Records the size of a volume just created. */
  know(file: string, virtualSizeBytes: number): void {
    // qemu-img rounds a new image's size up to whole 512-byte sectors.
    this.virtualSizes.set(file, Math.ceil(virtualSizeBytes / 512) * 512);
  }

  forget(): void {
    this.virtualSizes.clear();
  }
}
