// Laying out the tiny guest's root filesystem and packing it as a gzip'd newc cpio.
import { chmod, copyFile, mkdir, open, readdir, rename, symlink, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { runCommand } from './run-command.js';

/** Guest files kept in the repo (src/image/tiny/...) and where they go in the initramfs. */
export const TINY_OVERLAY: ReadonlyArray<{ src: string; dest: string; mode: number }> = [
  { src: 'init', dest: 'init', mode: 0o755 },
  { src: 'drover-http', dest: 'sbin/drover-http', mode: 0o755 },
  { src: 'drover-hotplug', dest: 'sbin/drover-hotplug', mode: 0o755 },
  { src: 'drover-dirtier', dest: 'sbin/drover-dirtier', mode: 0o755 },
  { src: 'udhcpc.script', dest: 'usr/share/udhcpc/default.script', mode: 0o755 },
  { src: 'power-button', dest: 'etc/acpi/PWRF/00000080', mode: 0o755 },
  { src: 'cgi.sh', dest: 'lib/drover/cgi.sh', mode: 0o644 },
  { src: 'cgi-bin/health', dest: 'www/cgi-bin/health', mode: 0o755 },
  { src: 'cgi-bin/info', dest: 'www/cgi-bin/info', mode: 0o755 },
  { src: 'cgi-bin/dirty', dest: 'www/cgi-bin/dirty', mode: 0o755 },
  { src: 'cgi-bin/counter', dest: 'www/cgi-bin/counter', mode: 0o755 },
  { src: 'cgi-bin/stream', dest: 'www/cgi-bin/stream', mode: 0o755 },
  { src: 'cgi-bin/burn', dest: 'www/cgi-bin/burn', mode: 0o755 },
  { src: 'etc/passwd', dest: 'etc/passwd', mode: 0o644 },
  { src: 'etc/group', dest: 'etc/group', mode: 0o644 },
  { src: 'etc/profile', dest: 'etc/profile', mode: 0o644 },
];

const EMPTY_DIRS = ['proc', 'sys', 'dev', 'tmp', 'run', 'root', 'var/log', 'var/run', 'lib/modules'];

/** The repo's src/image/tiny dir, from the sources (tsx) or from a tsc build in dist/. */
export function tinySourceDir(): string {
  const here = path.dirname(fileURLToPath(import.meta.url));
  const candidates = [path.join(here, 'tiny'), path.resolve(here, '../../src/image/tiny')];
  const found = candidates.find((d) => existsSync(path.join(d, 'init')));
  if (!found) throw new Error(`tiny guest sources not found (looked in ${candidates.join(', ')})`);
  return found;
}

/** True when the ELF file has no PT_INTERP program header, i.e. needs no dynamic loader. */
export async function isStaticElf(file: string): Promise<boolean> {
  const fh = await open(file, 'r');
  try {
    const head = Buffer.alloc(64);
    await fh.read(head, 0, 64, 0);
    if (head.toString('latin1', 0, 4) !== '\x7fELF' || head[4] !== 2 || head[5] !== 1) return false; // ELF64 LE
    const phoff = Number(head.readBigUInt64LE(0x20));
    const phentsize = head.readUInt16LE(0x36);
    const phnum = head.readUInt16LE(0x38);
    const table = Buffer.alloc(phentsize * phnum);
    await fh.read(table, 0, table.length, phoff);
    for (let i = 0; i < phnum; i++) if (table.readUInt32LE(i * phentsize) === 3) return false; // PT_INTERP
    return true;
  } finally {
    await fh.close();
  }
}

/** Copies a static busybox into root/bin and links every applet to it. */
export async function installBusybox(busybox: string, root: string): Promise<void> {
  if (!existsSync(busybox)) {
    throw new Error(`${busybox} not found: install the Debian package busybox-static (apt-get install busybox-static)`);
  }
  if (!(await isStaticElf(busybox))) {
    throw new Error(`${busybox} is not a static x86-64 binary: install busybox-static instead of busybox`);
  }
  const target = path.join(root, 'bin/busybox');
  await mkdir(path.dirname(target), { recursive: true });
  await copyFile(busybox, target);
  await chmod(target, 0o755);
  const applets = (await runCommand(target, ['--list-full'])).stdout.split('\n');
  for (const applet of applets.filter((a) => a.includes('/') && a !== 'bin/busybox')) {
    const link = path.join(root, applet);
    if (existsSync(link)) continue;
    await mkdir(path.dirname(link), { recursive: true });
    await symlink('/bin/busybox', link);
  }
}

/** Copies the repo's guest scripts and config into root, per TINY_OVERLAY. */
export async function installOverlay(sourceDir: string, root: string): Promise<void> {
  for (const dir of EMPTY_DIRS) await mkdir(path.join(root, dir), { recursive: true });
  for (const { src, dest, mode } of TINY_OVERLAY) {
    const target = path.join(root, dest);
    await mkdir(path.dirname(target), { recursive: true });
    await copyFile(path.join(sourceDir, src), target);
    await chmod(target, mode);
  }
}

export async function writeModuleOrder(root: string, order: readonly string[]): Promise<void> {
  await writeFile(path.join(root, 'lib/modules/load-order'), order.map((m) => m + '\n').join(''));
}

/** Every path under root, parents before children, relative to root (cpio's input). */
async function listTree(root: string, rel = ''): Promise<string[]> {
  const entries = await readdir(path.join(root, rel), { withFileTypes: true });
  const out: string[] = [];
  for (const e of entries.sort((a, b) => a.name.localeCompare(b.name))) {
    const p = rel ? `${rel}/${e.name}` : e.name;
    out.push(p);
    if (e.isDirectory()) out.push(...(await listTree(root, p)));
  }
  return out;
}

/** Packs root as a newc cpio (owned by root:root in the archive) and gzips it to `output`. */
export async function packInitramfs(root: string, output: string): Promise<void> {
  const cpioFile = `${output}.cpio`;
  const names = await listTree(root);
  await runCommand('cpio', ['--quiet', '-o', '-H', 'newc', '-R', '0:0', '-O', cpioFile], {
    cwd: root,
    input: names.join('\n') + '\n',
  });
  await runCommand('gzip', ['-9', '-n', '-f', cpioFile]);
  await rename(`${cpioFile}.gz`, output);
}
