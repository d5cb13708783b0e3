// Pure: whether a running VM may grow or shrink to a new size (issue 6,
// `drover vm resize`). Checks, in order: the request itself, the VM's
// maxima (fixed when it started: QEMU's maxcpus and maxmem), the memory
// granularity of virtio-mem, and the free capacity of its host. When the
// host lacks room but other hosts have it, the verdict names them, so the
// caller can offer --migrate (move first, then grow).
import { VM_LIMITS } from './vm-limits.js';

/** virtio-mem plugs memory in blocks of this size (QEMU's default block size on x86). */
export const MEMORY_BLOCK_MIB = 2;

export interface ResizeRequest {
  cpus?: number;
  memoryMiB?: number;
}

export interface ResizeVm {
  name: string;
  cpus: number;
  maxCpus: number;
  memoryMiB: number;
  maxMemoryMiB: number;
  /** The memory it booted with: it can never shrink below it (only hot-added memory can go). */
  bootMemoryMiB: number;
}

/** What a host can still give (after reservations and overcommit), and its name. */
export interface HostRoom {
  name: string;
  freeCpus: number;
  freeMemoryMiB: number;
  /**
   * Whether its QEMU can take vCPUs away from a running guest. False without
   * KVM: QEMU 7.2 under TCG crashes when a vCPU is added after one was
   * removed (docs/resize.md), so removal waits for a stop. Absent: true.
   */
  cpuUnplug?: boolean;
}

export type ResizeVerdict =
  | { ok: true; cpus: number; memoryMiB: number; addCpus: number; addMemoryMiB: number }
  | { ok: false; field: 'cpus' | 'memoryMiB' | 'request'; message: string; allowed: string; migrateTo?: string[] };

export function checkResize(vm: ResizeVm, req: ResizeRequest, host: HostRoom, others: readonly HostRoom[]): ResizeVerdict {
  if (req.cpus === undefined && req.memoryMiB === undefined) return refuse('request', 'nothing to change: give cpus, memoryMiB or both', 'cpus and/or memoryMiB');
  const cpus = req.cpus ?? vm.cpus;
  const memoryMiB = req.memoryMiB ?? vm.memoryMiB;
  if (!Number.isInteger(cpus) || cpus < VM_LIMITS.minCpus) return refuse('cpus', `${String(req.cpus)} is not a whole number of vCPUs of at least ${VM_LIMITS.minCpus}`, `${VM_LIMITS.minCpus}-${vm.maxCpus}`);
  if (cpus > vm.maxCpus) return refuse('cpus', `${cpus} is above the VM's maximum of ${vm.maxCpus} vCPUs (set when it was created; a larger maximum needs a stop and start with a new spec)`, `${VM_LIMITS.minCpus}-${vm.maxCpus}`);
  const memRange = `${vm.bootMemoryMiB}-${vm.maxMemoryMiB} MiB in steps of ${MEMORY_BLOCK_MIB} MiB`;
  if (!Number.isInteger(memoryMiB)) return refuse('memoryMiB', `${String(req.memoryMiB)} is not a whole number of MiB`, memRange);
  if (memoryMiB > vm.maxMemoryMiB) return refuse('memoryMiB', `${memoryMiB} MiB is above the VM's maximum of ${vm.maxMemoryMiB} MiB`, memRange);
  if (memoryMiB < vm.bootMemoryMiB) return refuse('memoryMiB', `${memoryMiB} MiB is below the ${vm.bootMemoryMiB} MiB it booted with (only memory added while it runs can be taken away)`, memRange);
  if ((memoryMiB - vm.bootMemoryMiB) % MEMORY_BLOCK_MIB !== 0) return refuse('memoryMiB', `${memoryMiB} MiB is not the boot memory plus whole ${MEMORY_BLOCK_MIB} MiB blocks`, memRange);

  if (cpus < vm.cpus && host.cpuUnplug === false) {
    return refuse('cpus', `${host.name} runs guests without KVM, where QEMU crashes when a vCPU is added after one was removed; take vCPUs away with the VM stopped (drover vm stop, drover vm resize --cpus ${cpus}, drover vm start)`, `${vm.cpus}-${vm.maxCpus} while it runs`);
  }
  const addCpus = cpus - vm.cpus;
  const addMemoryMiB = memoryMiB - vm.memoryMiB;
  const fits = (h: HostRoom): boolean => addCpus <= h.freeCpus && addMemoryMiB <= h.freeMemoryMiB;
  if (!fits(host)) {
    const short = addCpus > host.freeCpus ? `${addCpus} more vCPUs but ${host.name} has ${host.freeCpus} free` : `${addMemoryMiB} MiB more but ${host.name} has ${host.freeMemoryMiB} MiB free`;
    // Elsewhere the VM needs its whole new size, not only the growth.
    const roomy = others.filter((h) => cpus <= h.freeCpus && memoryMiB <= h.freeMemoryMiB).map((h) => h.name);
    const where = roomy.length ? `; ${roomy.join(', ')} ${roomy.length === 1 ? 'has' : 'have'} room: add --migrate to move it there first` : '; no other host has room for it either';
    return { ok: false, field: addCpus > host.freeCpus ? 'cpus' : 'memoryMiB', message: `VM ${vm.name} needs ${short}${where}`, allowed: 'what the host has free', ...(roomy.length ? { migrateTo: roomy } : {}) };
  }
  return { ok: true, cpus, memoryMiB, addCpus, addMemoryMiB };
}

function refuse(field: 'cpus' | 'memoryMiB' | 'request', message: string, allowed: string): ResizeVerdict {
  return { ok: false, field, message: `${field}: ${message}`, allowed };
}
