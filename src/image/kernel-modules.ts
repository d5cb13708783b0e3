// Picking kernel modules for the initramfs: dependencies first, built-ins skipped,
// compressed modules (.ko.xz/.ko.zst/.ko.gz) decompressed so busybox insmod can load them.
import { copyFile, readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { runCommand } from './run-command.js';

/** Modules the tiny guest loads, in this order (plus their dependencies, before them). */
export const TINY_MODULES = [
  'virtio_ring',
  'virtio',
  'virtio_pci_modern_dev',
  'virtio_pci_legacy_dev',
  'virtio_pci',
  'failover',
  'net_failover',
  'virtio_net',
  'virtio_blk',
  'virtio_balloon',
  'virtio_mem',
  'button', // ACPI power button (QMP system_powerdown) ...
  'evdev', // ... delivered to acpid through /dev/input/event*
] as const;

const MODULE_FILE = /\.ko(\.xz|\.zst|\.gz)?$/;

export function moduleName(file: string): string {
  return path.basename(file).replace(MODULE_FILE, '').replace(/-/g, '_');
}

/** The `depends=` entry of a module's .modinfo section. */
export function parseModinfoDepends(ko: Buffer): string[] {
  const m = /(?:^|\0)depends=([^\0]*)/.exec(ko.toString('latin1'));
  if (!m || !m[1]) return [];
  return m[1].split(',').filter(Boolean).map(moduleName);
}

/** Module load order: each wanted module after its dependencies, each once; unknown names reported. */
export function resolveLoadOrder(
  wanted: readonly string[],
  depends: ReadonlyMap<string, readonly string[]>,
): { order: string[]; missing: string[] } {
  const order: string[] = [];
  const missing: string[] = [];
  const visiting = new Set<string>();
  const visit = (name: string): void => {
    if (order.includes(name) || missing.includes(name) || visiting.has(name)) return;
    const deps = depends.get(name);
    if (!deps) {
      missing.push(name);
      return;
    }
    visiting.add(name);
    deps.forEach(visit);
    visiting.delete(name);
    order.push(name);
  };
  wanted.forEach(visit);
  return { order, missing };
}

async function walk(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true });
  const nested = await Promise.all(
    entries.map((e) => (e.isDirectory() ? walk(path.join(dir, e.name)) : [path.join(dir, e.name)])),
  );
  return nested.flat();
}

async function builtinModules(modulesDir: string): Promise<Set<string>> {
  const text = await readFile(path.join(modulesDir, 'modules.builtin'), 'utf8').catch(() => '');
  return new Set(text.split('\n').filter(Boolean).map(moduleName));
}

/** Copies src to destDir/<name>.ko, decompressing with the xz/zstd/gzip CLI as needed. */
async function installModule(src: string, destDir: string, name: string): Promise<string> {
  const dest = path.join(destDir, `${name}.ko`);
  const ext = MODULE_FILE.exec(src)?.[1];
  if (!ext) {
    await copyFile(src, dest);
    return dest;
  }
  const packed = dest + ext;
  await copyFile(src, packed);
  const tool = ext === '.xz' ? 'xz' : ext === '.zst' ? 'zstd' : 'gzip';
  await runCommand(tool, ['-d', '-f', '-q', packed]);
  return dest;
}

export interface StagedModules {
  /** Load order, written to load-order in the initramfs. */
  order: string[];
  builtin: string[];
  missing: string[];
}

/** Installs the wanted modules and their dependencies into destDir as plain NAME.ko files. */
export async function stageModules(modulesDir: string, destDir: string, wanted: readonly string[]): Promise<StagedModules> {
  const files = new Map((await walk(modulesDir)).filter((f) => MODULE_FILE.test(f)).map((f) => [moduleName(f), f]));
  const builtins = await builtinModules(modulesDir);
  const depends = new Map<string, string[]>();
  const builtin: string[] = [];
  const queue = [...wanted];
  for (let name = queue.shift(); name !== undefined; name = queue.shift()) {
    if (depends.has(name) || builtin.includes(name)) continue;
    if (builtins.has(name)) {
      builtin.push(name);
      continue;
    }
    const src = files.get(name);
    if (!src) continue; // reported as missing by resolveLoadOrder
    const ko = await installModule(src, destDir, name);
    const deps = parseModinfoDepends(await readFile(ko)).filter((d) => !builtins.has(d));
    depends.set(name, deps);
    queue.push(...deps);
  }
  const { order, missing } = resolveLoadOrder(
    wanted.filter((w) => !builtins.has(w)),
    depends,
  );
  return { order, builtin, missing };
}
