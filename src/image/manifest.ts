import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { readdir, readFile, rename, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';

export const MANIFEST_FILE = 'manifest.json';

export interface ImageFileEntry {
  sha256: string;
  size: number;
}

export interface ImageManifest {
  /** "tiny", or the user's import name. */
  name: string;
  /** 'kernel': boots with -kernel/-initrd; 'disk': boots from its disk with firmware. */
  kind: 'kernel' | 'disk';
  /** File names relative to the image dir. */
  kernel?: string;
  initrd?: string;
  /** Default kernel command line; the launcher appends per-VM arguments. */
  cmdline?: string;
  disk?: string;
  diskFormat?: 'qcow2' | 'raw';
  diskVirtualSizeBytes?: number;
  kernelVersion?: string;
  /** Hash of the build inputs (guest scripts, module list, kernel package); built images only. */
  recipeSha256?: string;
  files: Record<string, ImageFileEntry>;
  /** ISO time. */
  createdAt: string;
  source: 'built' | 'imported';
}

const NAME_PATTERN = /^[a-z0-9][a-z0-9-]{0,62}$/;

export function isValidImageName(name: string): boolean {
  return NAME_PATTERN.test(name);
}

export function imageDir(imagesDir: string, name: string): string {
  if (!isValidImageName(name)) throw new Error(`invalid image name ${JSON.stringify(name)}`);
  return path.join(imagesDir, name);
}

export async function sha256File(file: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(file)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

/** Hashes the given files (names relative to dir) into a manifest `files` map. */
export async function describeFiles(dir: string, names: readonly string[]): Promise<Record<string, ImageFileEntry>> {
  const files: Record<string, ImageFileEntry> = {};
  for (const name of names) {
    const full = path.join(dir, name);
    files[name] = { sha256: await sha256File(full), size: (await stat(full)).size };
  }
  return files;
}

/** Writes manifest.json atomically (temp file + rename), so a reader never sees half of it. */
export async function writeManifest(dir: string, m: ImageManifest): Promise<void> {
  const tmp = path.join(dir, `.${MANIFEST_FILE}.tmp`);
  await writeFile(tmp, JSON.stringify(m, null, 2) + '\n');
  await rename(tmp, path.join(dir, MANIFEST_FILE));
}

function isManifest(v: unknown): v is ImageManifest {
  if (typeof v !== 'object' || v === null) return false;
  const m = v as Record<string, unknown>;
  return (
    typeof m.name === 'string' &&
    (m.kind === 'kernel' || m.kind === 'disk') &&
    typeof m.files === 'object' &&
    m.files !== null &&
    typeof m.createdAt === 'string' &&
    (m.source === 'built' || m.source === 'imported')
  );
}

/** The image's manifest, or null when the image does not exist or its manifest is unreadable. */
export async function readManifest(imagesDir: string, name: string): Promise<ImageManifest | null> {
  if (!isValidImageName(name)) return null;
  let text: string;
  try {
    text = await readFile(path.join(imageDir(imagesDir, name), MANIFEST_FILE), 'utf8');
  } catch {
    return null;
  }
  try {
    const parsed: unknown = JSON.parse(text);
    return isManifest(parsed) && parsed.name === name ? parsed : null;
  } catch {
    return null;
  }
}

/** All images with a readable manifest, sorted by name. Temp dirs (dot names) are skipped. */
export async function listImages(imagesDir: string): Promise<ImageManifest[]> {
  let entries: string[];
  try {
    entries = await readdir(imagesDir);
  } catch {
    return [];
  }
  const found: ImageManifest[] = [];
  for (const name of entries.sort()) {
    const m = await readManifest(imagesDir, name);
    if (m) found.push(m);
  }
  return found;
}

/** Names a manifest refers to must be plain files inside the image dir. */
function isPlainFileName(name: string): boolean {
  return name !== '' && name !== '.' && name !== '..' && !name.includes('/') && !name.includes('\\');
}

/** True when every file the manifest lists exists with the recorded size and sha256. */
export async function verifyImage(imagesDir: string, m: ImageManifest): Promise<boolean> {
  const dir = imageDir(imagesDir, m.name);
  const referenced = [m.kernel, m.initrd, m.disk].filter((f): f is string => f !== undefined);
  if (referenced.some((f) => !(f in m.files))) return false;
  for (const [name, entry] of Object.entries(m.files)) {
    if (!isPlainFileName(name)) return false;
    const full = path.join(dir, name);
    try {
      if ((await stat(full)).size !== entry.size) return false;
    } catch {
      return false;
    }
    if ((await sha256File(full)) !== entry.sha256) return false;
  }
  return true;
}
