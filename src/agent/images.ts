// The images this host holds (as reported to the controller), and building
// or importing one while streaming progress lines.
import type { ImageProgressLine, ImageReport } from '../api/agent-protocol.js';
import type { ImportImageRequest } from '../api/requests.js';
import { ImageError } from '../image/errors.js';
import { importImage } from '../image/import.js';
import { listImages, type ImageManifest } from '../image/manifest.js';
import { buildTinyImage } from '../image/tiny-build.js';

export function imageReport(m: ImageManifest): ImageReport {
  return {
    name: m.name,
    kind: m.kind,
    source: m.source,
    ...(m.diskVirtualSizeBytes !== undefined ? { diskVirtualSizeBytes: m.diskVirtualSizeBytes } : {}),
    ...(m.kernelVersion !== undefined ? { kernelVersion: m.kernelVersion } : {}),
    sizeBytes: Object.values(m.files).reduce((sum, f) => sum + f.size, 0),
    createdAt: m.createdAt,
  };
}

export async function imageReports(imagesDir: string): Promise<ImageReport[]> {
  return (await listImages(imagesDir)).map(imageReport);
}

type Emit = (line: ImageProgressLine) => void;

/** Builds the tiny image, emitting progress, then `done` or `error` (never throws). */
export async function buildImageStreaming(imagesDir: string, req: { name: 'tiny'; force?: boolean }, emit: Emit): Promise<void> {
  await finish(emit, () =>
    buildTinyImage({
      imagesDir,
      force: req.force === true,
      onProgress: (p) => emit({ type: 'progress', step: p.step, done: p.done, total: p.total, ...(p.message ? { message: p.message } : {}) }),
    }),
  );
}

/** Imports a user's disk or kernel+initrd, emitting `done` or `error` (never throws). */
export async function importImageStreaming(imagesDir: string, req: ImportImageRequest, emit: Emit): Promise<void> {
  emit({ type: 'progress', step: 'import', done: 0, total: 1, message: req.file ?? req.kernel });
  await finish(emit, () => importImage({ imagesDir, ...req }));
}

async function finish(emit: Emit, work: () => Promise<ImageManifest>): Promise<void> {
  try {
    emit({ type: 'done', image: imageReport(await work()) });
  } catch (err) {
    const field = err instanceof ImageError ? err.field : undefined;
    emit({ type: 'error', message: (err as Error).message, ...(field ? { field } : {}) });
  }
}
