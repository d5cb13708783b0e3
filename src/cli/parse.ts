// User input to request fields: ports, sizes, counts, names. Every failure is
// a UsageError naming the option and what it allows, raised before any call.
import { parseCidr } from '../core/ipv4.js';
import { isIPv4 } from 'node:net';
import { resolve } from 'node:path';
import type { CreateVmRequest, ImportImageRequest } from '../api/requests.js';
import { checkName } from '../core/names.js';
import { parseSize, MiB } from '../core/units.js';
import { VM_LIMITS } from '../core/vm-limits.js';
import { UsageError } from './output.js';
import { parseHaPriority, parseHostRules } from './parse-constraints.js';
import { parseCreateLimits, type LimitFlags } from './parse-limits.js';

export type PortSpec = NonNullable<CreateVmRequest['ports']>[number];

const PORT_FORMS = 'HOST:GUEST or ADDR:HOST:GUEST, optionally ending in /tcp or /udp (e.g. 8080:80, 127.0.0.1:5353:53/udp); ports 1-65535';

export function parsePort(text: string): PortSpec {
  const bad = (why: string) => new UsageError(`--port "${text}" ${why}`, '--port', PORT_FORMS);
  const [main, proto = 'tcp', extra] = text.split('/');
  if (extra !== undefined || (proto !== 'tcp' && proto !== 'udp')) throw bad('has an unknown protocol; use /tcp or /udp');
  const parts = (main ?? '').split(':');
  if (parts.length < 2 || parts.length > 3) throw bad('is not a port forward');
  const hostAddress = parts.length === 3 ? parts[0]! : undefined;
  if (hostAddress !== undefined && !isIPv4(hostAddress)) throw bad(`has "${hostAddress}" as address; it must be an IPv4 address`);
  const [hostPort, guestPort] = parts.slice(-2).map((p) => portNumber(p, bad));
  const spec: PortSpec = { hostPort: hostPort!, guestPort: guestPort!, proto };
  if (hostAddress !== undefined) spec.hostAddress = hostAddress;
  return spec;
}

function portNumber(text: string, bad: (why: string) => UsageError): number {
  if (!/^\d{1,5}$/.test(text)) throw bad(`has "${text}" as a port; a port is a number`);
  const n = Number(text);
  if (n < 1 || n > 65535) throw bad(`has port ${n} out of range`);
  return n;
}

export function parsePorts(texts: string[]): PortSpec[] {
  if (texts.length > VM_LIMITS.maxPorts) throw new UsageError(`too many --port options (${texts.length})`, '--port', `at most ${VM_LIMITS.maxPorts}`);
  const ports = texts.map(parsePort);
  const seen = new Set<string>();
  for (const p of ports) {
    const key = `${p.hostAddress ?? '127.0.0.1'}:${p.hostPort}/${p.proto}`;
    if (seen.has(key)) throw new UsageError(`--port uses host port ${p.hostPort}/${p.proto} twice`, '--port', 'each host port once');
    seen.add(key);
  }
  return ports;
}

/** Memory in MiB; a plain number means MiB. */
export function parseMemoryMiB(text: string, option: string): number {
  const allowed = `a size of at least ${VM_LIMITS.minMemoryMiB} MiB in whole MiB; a plain number is MiB (e.g. 256, 512M, 2G)`;
  const r = parseSize(text, 'm');
  if (!r.ok) throw new UsageError(`${option}: ${r.reason}`, option, allowed);
  if (r.bytes % MiB !== 0) throw new UsageError(`${option} "${text}" is not a whole number of MiB`, option, allowed);
  const value = r.bytes / MiB;
  if (value < VM_LIMITS.minMemoryMiB || value > VM_LIMITS.maxMemoryMiB) throw new UsageError(`${option} "${text}" is out of range`, option, allowed);
  return value;
}

/** Disk size in bytes; a plain number means GiB. */
export function parseDiskBytes(text: string, option = '--disk'): number {
  const allowed = 'a size of at least 1M; a plain number is GiB (e.g. 1G, 512M, 10)';
  const r = parseSize(text, 'g');
  if (!r.ok) throw new UsageError(`${option}: ${r.reason}`, option, allowed);
  if (r.bytes < VM_LIMITS.minDiskBytes) throw new UsageError(`${option} "${text}" is too small`, option, allowed);
  return r.bytes;
}

export function parseCount(text: string, option: string, min: number, max: number): number {
  if (!/^\d+$/.test(text.trim()) || Number(text) < min || Number(text) > max) {
    throw new UsageError(`${option} "${text}" is not a whole number from ${min} to ${max}`, option, `${min}-${max}`);
  }
  return Number(text);
}

export function parseName(text: string, what = 'NAME'): string {
  const problem = checkName(text);
  if (problem) throw new UsageError(problem, what, "1-63 lowercase letters, digits and '-'");
  return text;
}

/** Where a host agent puts VM cgroups (agent flag --cgroups). */
export type CgroupsFlag = 'root' | 'own' | 'off';

export function parseCgroups(text: string, option = '--cgroups'): CgroupsFlag {
  if (text === 'root' || text === 'own' || text === 'off') return text;
  throw new UsageError(`${option} "${text}" is not a place for VM cgroups`, option, 'root, own or off');
}

/** Commander's collector for a repeatable option. */
export function collect(value: string, previous: string[] | undefined): string[] {
  return [...(previous ?? []), value];
}

export interface CreateOptions extends LimitFlags {
  image: string;
  cpus?: string;
  memory?: string;
  maxCpus?: string;
  maxMemory?: string;
  disk?: string;
  port?: string[];
  host?: string;
  storage?: string;
  network?: string;
  start: boolean;
  ha?: boolean;
  haPriority?: string;
  hostRule?: string[];
  group?: string[];
  /** --resource-pool NAME */
  resourcePool?: string;
}

export function buildCreateRequest(name: string, o: CreateOptions): CreateVmRequest {
  const req: CreateVmRequest = { name: parseName(name), image: parseName(o.image, '--image'), start: o.start };
  if (o.cpus !== undefined) req.cpus = parseCount(o.cpus, '--cpus', VM_LIMITS.minCpus, VM_LIMITS.maxCpus);
  if (o.memory !== undefined) req.memoryMiB = parseMemoryMiB(o.memory, '--memory');
  if (o.maxCpus !== undefined) req.maxCpus = parseCount(o.maxCpus, '--max-cpus', req.cpus ?? VM_LIMITS.minCpus, VM_LIMITS.maxCpus);
  if (o.maxMemory !== undefined) req.maxMemoryMiB = parseMemoryMiB(o.maxMemory, '--max-memory');
  if (req.maxMemoryMiB !== undefined && req.maxMemoryMiB < (req.memoryMiB ?? VM_LIMITS.minMemoryMiB)) {
    throw new UsageError(`--max-memory ${o.maxMemory} is less than --memory`, '--max-memory', 'a size at least --memory');
  }
  if (o.disk !== undefined) req.diskBytes = parseDiskBytes(o.disk);
  if (o.port && o.port.length > 0) req.ports = parsePorts(o.port);
  if (o.host !== undefined) req.host = o.host;
  if (o.storage !== undefined) req.storage = parseStorage(o.storage);
  if (o.network !== undefined) req.network = parseNetwork(o.network);
  if (req.network?.mode === 'bridge' && req.ports) throw new UsageError('--port forwards through user-mode networking; a bridged VM is reached at its own address', '--port', 'none with --network bridge');
  if (o.ha) req.ha = true;
  if (o.haPriority !== undefined) req.haPriority = parseHaPriority(o.haPriority);
  if (o.hostRule && o.hostRule.length > 0) req.hostRules = parseHostRules(o.hostRule);
  if (o.group && o.group.length > 0) req.groups = [...new Set(o.group.map((g) => parseName(g, '--group')))];
  if (o.resourcePool !== undefined) req.resourcePool = parseName(o.resourcePool, '--resource-pool');
  const limits = parseCreateLimits(o);
  if (limits) req.limits = limits;
  return req;
}

function parseStorage(text: string): 'local' | 'shared' {
  if (text === 'local' || text === 'shared') return text;
  throw new UsageError(`--storage "${text}" is not a storage pool`, '--storage', 'local or shared');
}

/** user | bridge | bridge:A.B.C.D/NN */
export function parseNetwork(text: string): NonNullable<CreateVmRequest['network']> {
  if (text === 'user') return { mode: 'user' };
  if (text === 'bridge') return { mode: 'bridge' };
  const m = /^bridge:(.+)$/.exec(text);
  if (m && parseCidr(m[1]!)) return { mode: 'bridge', address: m[1]! };
  throw new UsageError(`--network "${text}" is not a network`, '--network', 'user, bridge or bridge:ADDR/PREFIX (e.g. bridge:10.77.1.5/16)');
}

export interface ImportOptions {
  file?: string;
  kernel?: string;
  initrd?: string;
  cmdline?: string;
}

const IMPORT_FORMS = '--file PATH (a qcow2 or raw disk), or --kernel PATH --initrd PATH [--cmdline STR]';

/** Exactly one of the two forms; paths made absolute against `cwd` (the agent does not share our cwd). */
export function buildImportRequest(name: string, o: ImportOptions, cwd: string): ImportImageRequest {
  parseName(name);
  const kernelForm = o.kernel !== undefined || o.initrd !== undefined || o.cmdline !== undefined;
  if (o.file !== undefined && kernelForm) {
    throw new UsageError('give either --file or --kernel/--initrd, not both', o.kernel !== undefined ? '--kernel' : o.initrd !== undefined ? '--initrd' : '--cmdline', IMPORT_FORMS);
  }
  if (o.file !== undefined) return { name, file: absolute(o.file, cwd, '--file') };
  if (!kernelForm) throw new UsageError('nothing to import: give --file, or --kernel and --initrd', '--file', IMPORT_FORMS);
  if (o.kernel === undefined) throw new UsageError('--initrd needs --kernel', '--kernel', IMPORT_FORMS);
  if (o.initrd === undefined) throw new UsageError('--kernel needs --initrd', '--initrd', IMPORT_FORMS);
  const req: ImportImageRequest = { name, kernel: absolute(o.kernel, cwd, '--kernel'), initrd: absolute(o.initrd, cwd, '--initrd') };
  if (o.cmdline !== undefined) req.cmdline = o.cmdline;
  return req;
}

function absolute(path: string, cwd: string, option: string): string {
  if (path.trim() === '') throw new UsageError(`${option} is empty`, option, 'a path to a file on the host');
  return resolve(cwd, path);
}

/** `--bytes` of `vm logs`. */
export function parseLogBytes(text: string): number {
  return parseCount(text, '--bytes', 1, 1048576);
}
