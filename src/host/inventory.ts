// What this host has (CPUs, memory, disk, QEMU), what a process uses (from
// /proc), and which host ports are already taken.
import dgram from 'node:dgram';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import type { HostInventory } from '../api/resources.js';
import { ksmStatus } from './ksm.js';

const MiB = 1024 ** 2;
/** USER_HZ: the unit of utime/stime in /proc/PID/stat (100 on every Linux we run on). */
const CLOCK_TICKS = 100;

export interface InventoryInput {
  /** The filesystem whose free space is reported (the agent's state dir). */
  stateDir: string;
  kvm: boolean;
  qemuVersion: string;
  /** Held back for the host itself (agent flags --reserve-cpus, --reserve-memory); default none. */
  reserved?: { cpus: number; memoryMiB: number };
}

/** The CPUs and memory of this machine, as the inventory reports them. */
export function hostTotals(): { cpus: number; memoryMiB: number } {
  return { cpus: os.availableParallelism(), memoryMiB: Math.floor(os.totalmem() / MiB) };
}

export async function hostInventory(input: InventoryInput): Promise<HostInventory> {
  return {
    hostname: os.hostname(),
    ...hostTotals(),
    reservedCpus: input.reserved?.cpus ?? 0,
    reservedMemoryMiB: input.reserved?.memoryMiB ?? 0,
    kvm: input.kvm,
    qemuVersion: input.qemuVersion,
    freeDiskBytes: await freeDiskBytes(input.stateDir),
    agentVersion: agentVersion(),
    ...ksmInventory(),
  };
}

/** KSM's state and savings, when the kernel has it. */
function ksmInventory(): Pick<HostInventory, 'ksm'> {
  const k = ksmStatus();
  return k.available ? { ksm: { running: k.running, savedBytes: k.savedBytes, pagesShared: k.pagesShared } } : {};
}

/** Bytes an unprivileged user may still write on the filesystem holding dir. */
export async function freeDiskBytes(dir: string): Promise<number> {
  const s = await fs.promises.statfs(dir);
  return s.bavail * s.bsize;
}

let version: string | undefined;

/** The version in the package's package.json. */
export function agentVersion(): string {
  if (version === undefined) {
    const file = new URL('../../package.json', import.meta.url);
    try {
      version = String((JSON.parse(fs.readFileSync(file, 'utf8')) as { version?: unknown }).version ?? 'unknown');
    } catch {
      version = 'unknown';
    }
  }
  return version;
}

export interface ProcessStats {
  cpuSeconds: number;
  rssBytes: number;
}

/** CPU time and resident memory of pid, or null when it is gone. */
export function processStats(pid: number): ProcessStats | null {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
    return { cpuSeconds: parseCpuSeconds(stat), rssBytes: parseRssBytes(status) };
  } catch {
    return null;
  }
}

/** utime + stime of a /proc/PID/stat line, in seconds. */
export function parseCpuSeconds(stat: string): number {
  // Fields after the parenthesised command name (which may hold spaces and ')'): state is field 3.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const utime = Number(fields[11]);
  const stime = Number(fields[12]);
  if (!Number.isFinite(utime) || !Number.isFinite(stime)) throw new Error(`cannot read CPU times from /proc stat: ${stat.slice(0, 80)}`);
  return (utime + stime) / CLOCK_TICKS;
}

/** VmRSS of a /proc/PID/status text, in bytes (0 when absent, e.g. a zombie). */
export function parseRssBytes(status: string): number {
  const m = /^VmRSS:\s+(\d+)\s+kB/m.exec(status);
  return m ? Number(m[1]) * 1024 : 0;
}

export interface PortProbe {
  hostAddress: string;
  hostPort: number;
  proto: 'tcp' | 'udp';
}

/** The host ports among `ports` that cannot be bound on their address right now. */
export async function portsInUse(ports: readonly PortProbe[]): Promise<number[]> {
  const busy = await Promise.all(ports.map((p) => (p.proto === 'udp' ? udpBusy(p) : tcpBusy(p))));
  return [...new Set(ports.filter((_, i) => busy[i]).map((p) => p.hostPort))];
}

function tcpBusy(p: PortProbe): Promise<boolean> {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.once('error', () => resolve(true));
    server.listen({ host: p.hostAddress, port: p.hostPort, exclusive: true }, () => server.close(() => resolve(false)));
  });
}

function udpBusy(p: PortProbe): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = dgram.createSocket(net.isIPv6(p.hostAddress) ? 'udp6' : 'udp4');
    socket.once('error', () => {
      try {
        socket.close();
      } catch {
        // already closed by the failed bind
      }
      resolve(true);
    });
    socket.bind({ address: p.hostAddress, port: p.hostPort, exclusive: true }, () => socket.close(() => resolve(false)));
  });
}
