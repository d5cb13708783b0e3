// Bounds of a VM spec, and the defaults that make later hot-add possible.
import { MiB } from './units.js';

export const VM_LIMITS = {
  minCpus: 1,
  maxCpus: 64,
  minMemoryMiB: 128,
  maxMemoryMiB: 1024 * 1024,
  minDiskBytes: 1 * MiB,
  maxPorts: 16,
} as const;

/** Headroom for hot-add: by default a VM may grow to 4x its vCPUs (capped by the host) and 4x its memory. */
export function defaultMaxima(cpus: number, memoryMiB: number, hostCpus: number): { maxCpus: number; maxMemoryMiB: number } {
  const maxCpus = Math.max(cpus, Math.min(VM_LIMITS.maxCpus, Math.max(hostCpus, cpus * 4)));
  const maxMemoryMiB = Math.min(VM_LIMITS.maxMemoryMiB, memoryMiB * 4);
  return { maxCpus, maxMemoryMiB };
}
