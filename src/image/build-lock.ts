// A cross-process lock for building one image: mkdir is atomic, so the lock is a directory.
import { mkdir, rm, stat } from 'node:fs/promises';

const STALE_MS = 15 * 60_000; // a build takes well under a minute; older locks are leftovers of a crash
const POLL_MS = 250;

async function tryLock(lockDir: string): Promise<boolean> {
  try {
    await mkdir(lockDir);
    return true;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    const age = await stat(lockDir).then(
      (s) => Date.now() - s.mtimeMs,
      () => 0,
    );
    if (age > STALE_MS) await rm(lockDir, { recursive: true, force: true });
    return false;
  }
}

/** Runs fn while holding lockDir; waits (polling) while another process holds it. */
export async function withBuildLock<T>(lockDir: string, fn: () => Promise<T>): Promise<T> {
  while (!(await tryLock(lockDir))) await new Promise((r) => setTimeout(r, POLL_MS));
  try {
    return await fn();
  } finally {
    await rm(lockDir, { recursive: true, force: true });
  }
}
