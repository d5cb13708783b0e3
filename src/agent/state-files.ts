// The agent's files: host.json (its identity), and per VM a directory with
// vm.json (what the agent did and must remember across its own restarts),
// QEMU's runtime files and serial.log. JSON files are written atomically.
import fs from 'node:fs';
import path from 'node:path';
import type { MigrationReport, VmAssignment } from '../api/agent-protocol.js';

export interface AgentPaths {
  stateDir: string;
  hostFile: string;
  vmsDir: string;
  poolDir: string;
  /** The shared pool's directory (every host mounts it at the same path), when this host has one. */
  sharedPoolDir?: string;
}

export function agentPaths(stateDir: string, sharedPoolDir?: string): AgentPaths {
  const abs = path.resolve(stateDir);
  const paths: AgentPaths = { stateDir: abs, hostFile: path.join(abs, 'host.json'), vmsDir: path.join(abs, 'vms'), poolDir: path.join(abs, 'pools', 'local') };
  if (sharedPoolDir) paths.sharedPoolDir = path.resolve(sharedPoolDir);
  return paths;
}

/** The VM's directory: vm.json, serial.log and QEMU's runtime files (it is QEMU's runDir). */
export function vmDir(paths: AgentPaths, vmId: string): string {
  return path.join(paths.vmsDir, safeId(vmId));
}

export type PoolKind = 'local' | 'shared';

export function vmVolumesDir(paths: AgentPaths, vmId: string, pool: PoolKind = 'local'): string {
  if (pool === 'local') return path.join(paths.poolDir, safeId(vmId));
  if (!paths.sharedPoolDir) throw new Error('this host has no shared storage pool; start its agent with --shared-pool DIR');
  return path.join(paths.sharedPoolDir, 'volumes', safeId(vmId));
}

export function volumePath(paths: AgentPaths, vmId: string, volumeId: string, pool: PoolKind = 'local'): string {
  return path.join(vmVolumesDir(paths, vmId, pool), `${safeId(volumeId)}.qcow2`);
}

/** Ids come from the controller; they must never escape our directories. */
function safeId(id: string): string {
  if (!/^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$/.test(id)) throw new Error(`"${id}" is not a usable id for a file name`);
  return id;
}

export interface HostIdentity {
  hostId: string;
  credential: string;
  /** The URL the controller was last told, so a restart can listen on the same port. */
  agentUrl?: string;
}

export function loadHostIdentity(paths: AgentPaths): HostIdentity | null {
  const data = readJson<Partial<HostIdentity>>(paths.hostFile);
  if (!data || typeof data.hostId !== 'string' || typeof data.credential !== 'string') return null;
  return { hostId: data.hostId, credential: data.credential, ...(typeof data.agentUrl === 'string' ? { agentUrl: data.agentUrl } : {}) };
}

export function saveHostIdentity(paths: AgentPaths, id: HostIdentity): void {
  writeJsonAtomic(paths.hostFile, id, 0o600);
}

/** What the agent remembers of one VM (vm.json). */
export interface VmFile {
  id: string;
  /** The last assignment the agent acted on. */
  assignment: VmAssignment;
  /** Epoch of the last QEMU spawned (written before the spawn): at most one QEMU per epoch. */
  lastStartedEpoch: number;
  rebootSeqDone: number;
  /** Set from the spawn until the exit is seen: a QEMU missing on re-attach died while we were away. */
  running: boolean;
  /** When we asked the current QEMU to stop (ms since the epoch); its exit is then a clean stop. */
  stopRequestedAt?: number;
  /** How the last QEMU ended. */
  lastExit?: { state: 'stopped' | 'crashed'; reason?: string };
  /** A start that failed: reported as the VM's error while the assignment still wants that epoch. */
  startError?: { epoch: number; message: string };
  guestReadyAt?: string;
  qmpReadyAt?: string;
  qemuStartMs?: number;
  /** The live migration this VM takes part in, as last reported (kept across agent restarts). */
  migration?: MigrationReport;
  /** Source: the guest was handed to the target of this migration; its QEMU here must never run the guest again. */
  migratedOut?: string;
}

export function vmFilePath(paths: AgentPaths, vmId: string): string {
  return path.join(vmDir(paths, vmId), 'vm.json');
}

export function newVmFile(assignment: VmAssignment): VmFile {
  return { id: assignment.id, assignment, lastStartedEpoch: 0, rebootSeqDone: 0, running: false };
}

export function loadVmFile(paths: AgentPaths, vmId: string): VmFile | null {
  const data = readJson<VmFile>(vmFilePath(paths, vmId));
  return data && data.id === vmId && typeof data.lastStartedEpoch === 'number' && data.assignment ? data : null;
}

export function saveVmFile(paths: AgentPaths, file: VmFile): void {
  fs.mkdirSync(vmDir(paths, file.id), { recursive: true, mode: 0o700 });
  writeJsonAtomic(vmFilePath(paths, file.id), file, 0o600);
}

/** Ids of the VM directories that hold a vm.json. */
export function listVmIds(paths: AgentPaths): string[] {
  let names: string[];
  try {
    names = fs.readdirSync(paths.vmsDir);
  } catch {
    return [];
  }
  return names.filter((n) => fs.existsSync(path.join(paths.vmsDir, n, 'vm.json'))).sort();
}

function readJson<T>(file: string): T | null {
  try {
    return JSON.parse(fs.readFileSync(file, 'utf8')) as T;
  } catch {
    return null;
  }
}

function writeJsonAtomic(file: string, data: unknown, mode: number): void {
  const tmp = `${file}.tmp-${process.pid}`;
  const fd = fs.openSync(tmp, 'w', mode);
  try {
    fs.writeFileSync(fd, JSON.stringify(data, null, 2) + '\n');
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
  fs.chmodSync(tmp, mode);
  fs.renameSync(tmp, file);
}
