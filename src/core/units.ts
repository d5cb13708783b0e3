// Sizes as users write them ("256", "256M", "1G", "1.5GiB") to bytes, and back.
// Plain numbers mean `defaultUnit` (MiB for memory, GiB for disks).

const UNITS: Record<string, number> = {
  '': 1, b: 1,
  k: 1024, kb: 1024, kib: 1024,
  m: 1024 ** 2, mb: 1024 ** 2, mib: 1024 ** 2,
  g: 1024 ** 3, gb: 1024 ** 3, gib: 1024 ** 3,
  t: 1024 ** 4, tb: 1024 ** 4, tib: 1024 ** 4,
};

export type SizeParse = { ok: true; bytes: number } | { ok: false; reason: string };

export function parseSize(text: string, defaultUnit: 'b' | 'm' | 'g'): SizeParse {
  const m = /^\s*(\d+(?:\.\d+)?)\s*([a-zA-Z]*)\s*$/.exec(text);
  if (!m) return { ok: false, reason: `"${text}" is not a size; write a number with an optional unit, e.g. 256M, 1G, 1.5GiB` };
  const unitText = (m[2] ?? '').toLowerCase();
  const factor = UNITS[unitText === '' ? defaultUnit : unitText];
  if (factor === undefined) return { ok: false, reason: `unknown unit "${m[2]}"; use K, M, G or T (binary: 1G = 1024 MiB)` };
  const bytes = Math.round(Number(m[1]) * factor);
  if (!Number.isSafeInteger(bytes) || bytes <= 0) return { ok: false, reason: `"${text}" must be a positive size` };
  return { ok: true, bytes };
}

export function formatBytes(bytes: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let v = bytes;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  const text = v >= 100 || Number.isInteger(v) ? v.toFixed(0) : v.toFixed(1);
  return `${text} ${units[i]}`;
}

export const MiB = 1024 ** 2;
export const GiB = 1024 ** 3;
