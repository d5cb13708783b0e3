// The shared storage pool: a directory every host mounts at the same path
// (NFS or CephFS in production, a plain directory in the testbed). A pool id
// written once into it lets the controller tell that two hosts see the same
// storage, rather than two directories that merely share a path.
import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { freeDiskBytes } from './inventory.js';

const ID_FILE = 'drover-pool-id';

/** The pool's id, written by whichever host opens the pool first (O_EXCL: one writer wins). */
export function sharedPoolId(dir: string): string {
  fs.mkdirSync(path.join(dir, 'volumes'), { recursive: true });
  const file = path.join(dir, ID_FILE);
  try {
    fs.writeFileSync(file, `${randomUUID()}\n`, { flag: 'wx', mode: 0o644 });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
  }
  const id = fs.readFileSync(file, 'utf8').trim();
  if (!id) throw new Error(`${file} is empty; remove it so the pool gets a new id`);
  return id;
}

export async function sharedPoolInfo(dir: string, id: string): Promise<{ path: string; id: string; freeBytes: number }> {
  return { path: dir, id, freeBytes: await freeDiskBytes(dir) };
}
