// A real multi-host Drover cluster on one machine: a controller and N host
// agents with a shared storage pool. Process mode runs the agents in this
// network namespace on loopback (no root needed; user-mode networking).
// Namespace mode (root) gives every host its own network namespace and
// address on one fabric, and a bridge for bridged VMs (see fabric.ts).
// Everything it makes lives in one directory and is named drv<tag>, so
// `down` can remove it all, also after a crash.
import fs from 'node:fs';
import { homedir } from 'node:os';
import path from 'node:path';
import { DroverClient } from '../api/client.js';
import { buildFabric, checkSubnetFree, checkTag, HOST_BRIDGE, planFabric, removeFabric, type FabricPlan } from './fabric.js';
import { isAlive, killAll, processesMentioning, startDaemon, waitForLog } from './daemons.js';

export interface TestbedOptions {
  hosts: number;
  netns: boolean;
  /** Names its namespaces and links (drv<tag>...); default "tb". */
  tag?: string;
  /** Where state, logs and the shared pool live; default $DROVER_HOME/testbed-<tag>. */
  dir?: string;
  /** Namespace mode: the fabric's subnet (default 10.77.0.0/16). */
  subnet?: string;
  /** Controller port (default: any free one). */
  port?: number;
  imagesDir?: string;
  /** Build the tiny image (default true). */
  image?: boolean;
  /** Memory each agent holds back for its host (agent --reserve-memory, MiB); default 0. */
  reserveMemoryMiB?: number;
  /** Where each agent puts VM cgroups (agent --cgroups); default the agent's (root). */
  cgroups?: 'root' | 'own' | 'off';
  env?: Record<string, string>;
  onProgress?: (line: string) => void;
}

export interface TestbedHost {
  name: string;
  /** Namespace mode: its namespace. */
  ns?: string;
  /** Its address (namespace mode) or its loopback forward address (process mode). */
  address: string;
  dir: string;
  pidFile: string;
  logFile: string;
}

export interface TestbedState {
  tag: string;
  dir: string;
  netns: boolean;
  url: string;
  token: string;
  sharedDir: string;
  imagesDir: string;
  hosts: TestbedHost[];
  fabric?: FabricPlan;
  controller: { pidFile: string; logFile: string; stateDir: string };
  env: Record<string, string>;
  /** Agent --reserve-memory (MiB), also on restarts; absent: 0. */
  reserveMemoryMiB?: number;
  /** Agent --cgroups, also on restarts; absent: the agent's default. */
  cgroups?: 'root' | 'own' | 'off';
}

const STATE_FILE = 'testbed.json';

export function droverHome(): string {
  return process.env['DROVER_HOME'] ?? path.join(homedir(), '.local', 'share', 'drover');
}

export function testbedDir(tag = 'tb', dir?: string): string {
  return dir ?? path.join(droverHome(), `testbed-${tag}`);
}

export function loadTestbed(dir: string): TestbedState | undefined {
  const file = path.join(dir, STATE_FILE);
  return fs.existsSync(file) ? (JSON.parse(fs.readFileSync(file, 'utf8')) as TestbedState) : undefined;
}

function defaultImagesDir(): string {
  return process.env['DROVER_IMAGES_DIR'] ?? path.join(homedir(), '.cache', 'drover', 'images');
}

/** Brings a testbed up; on failure it takes down what it started. */
export async function testbedUp(o: TestbedOptions): Promise<TestbedState> {
  const tag = o.tag ?? 'tb';
  checkTag(tag);
  const dir = testbedDir(tag, o.dir);
  if (loadTestbed(dir)) throw new Error(`a testbed already exists in ${dir}; run \`drover testbed down${o.tag ? ` --tag ${tag}` : ''}\` first`);
  if (o.netns && process.getuid?.() !== 0) throw new Error('--netns needs root (network namespaces, bridges and TAPs); run as root, or without --netns for process mode');
  fs.mkdirSync(dir, { recursive: true });
  const say = o.onProgress ?? (() => undefined);
  try {
    return await bringUp(o, tag, dir, say);
  } catch (err) {
    say(`failed: ${(err as Error).message.split('\n')[0]}; removing what was made`);
    await testbedDown({ tag, dir });
    throw err;
  }
}

async function bringUp(o: TestbedOptions, tag: string, dir: string, say: (l: string) => void): Promise<TestbedState> {
  const fabric = o.netns ? planFabric(tag, o.hosts, o.subnet ?? '10.77.0.0/16') : undefined;
  if (fabric) {
    await checkSubnetFree(o.subnet ?? '10.77.0.0/16');
    say(`network: ${o.hosts} host namespaces on fabric ${o.subnet ?? '10.77.0.0/16'} (${fabric.fabricNs})`);
    await buildFabric(fabric);
  }
  const hosts: TestbedHost[] = Array.from({ length: o.hosts }, (_, i) => {
    const hostDir = path.join(dir, 'agents', `h${i}`);
    const f = fabric?.hosts[i];
    return { name: `h${i}`, ...(f ? { ns: f.ns } : {}), address: f ? f.address : i === 0 ? '127.0.0.1' : `127.0.1.${i + 1}`, dir: hostDir, pidFile: path.join(hostDir, 'agent.pid'), logFile: path.join(hostDir, 'agent.log') };
  });
  const state: TestbedState = {
    tag, dir, netns: o.netns, url: '', token: '', sharedDir: path.join(dir, 'shared'), imagesDir: o.imagesDir ?? defaultImagesDir(), hosts,
    ...(fabric ? { fabric } : {}),
    controller: { pidFile: path.join(dir, 'controller', 'controller.pid'), logFile: path.join(dir, 'controller', 'controller.log'), stateDir: path.join(dir, 'controller') },
    env: { DROVER_HOME: dir, ...o.env },
    ...(o.reserveMemoryMiB ? { reserveMemoryMiB: o.reserveMemoryMiB } : {}),
    ...(o.cgroups ? { cgroups: o.cgroups } : {}),
  };
  fs.mkdirSync(state.sharedDir, { recursive: true });
  fs.mkdirSync(state.controller.stateDir, { recursive: true });
  await startController(state, o.port ?? 0);
  fs.writeFileSync(path.join(dir, STATE_FILE), JSON.stringify(state, null, 2));
  say(`controller: ${state.url}`);
  for (const h of hosts) {
    await startHost(state, h.name);
    say(`host ${h.name}: ${h.ns ? `namespace ${h.ns}, ` : ''}address ${h.address}`);
  }
  const client = new DroverClient({ baseUrl: state.url, token: state.token });
  await waitUntil(async () => (await client.call('listHosts')).filter((h) => h.state === 'Ready').length === hosts.length, 30_000, 'every host Ready');
  if (o.image !== false) {
    say('image: tiny (built once, cached)');
    await ensureTinyImage(client);
  }
  return state;
}

/** Starts the controller (again) on `port` (0: any); state.url and state.token follow it. */
export async function startController(state: TestbedState, port: number): Promise<void> {
  const c = state.controller;
  const offset = fs.existsSync(c.logFile) ? fs.statSync(c.logFile).size : 0;
  const listen = `${state.fabric ? state.fabric.rootAddress : '127.0.0.1'}:${port}`;
  const args = ['--state-dir', c.stateDir, '--listen', listen, '--shared-pool', state.sharedDir, ...(state.fabric ? ['--bridge-range', state.fabric.vmRange] : [])];
  const pid = startDaemon({ entry: 'src/controller/main.ts', args, env: state.env, logFile: c.logFile, pidFile: c.pidFile });
  const m = await waitForLog(c.logFile, /controller ready url=(\S+)/, pid, 30_000, offset);
  state.url = m[1] ?? '';
  state.token = fs.readFileSync(path.join(c.stateDir, 'admin-token'), 'utf8').trim();
}

/** Starts (or restarts) host `name`'s agent; it keeps its identity and re-attaches to its QEMUs. */
export async function startHost(state: TestbedState, name: string): Promise<number> {
  const h = findHost(state, name);
  const running = readPid(h.pidFile);
  if (running && isAlive(running)) return running;
  const joinToken = fs.readFileSync(path.join(state.controller.stateDir, 'join-token'), 'utf8').trim();
  const args = ['--controller', state.url, '--name', h.name, '--state-dir', h.dir, '--images-dir', state.imagesDir, '--stop-grace-ms', '5000',
    '--shared-pool', state.sharedDir, '--forward-address', h.address, ...(h.ns ? ['--listen', `${h.address}:0`, '--bridge', HOST_BRIDGE] : []),
    ...(state.reserveMemoryMiB ? ['--reserve-memory', String(state.reserveMemoryMiB)] : []), ...(state.cgroups ? ['--cgroups', state.cgroups] : [])];
  fs.mkdirSync(h.dir, { recursive: true });
  const offset = fs.existsSync(h.logFile) ? fs.statSync(h.logFile).size : 0;
  const pid = startDaemon({ entry: 'src/agent/main.ts', args, env: { ...state.env, DROVER_JOIN_TOKEN: joinToken }, logFile: h.logFile, pidFile: h.pidFile, ...(h.ns ? { netns: h.ns } : {}) });
  await waitForLog(h.logFile, /agent ready/, pid, 30_000, offset);
  return pid;
}

export function findHost(state: TestbedState, name: string): TestbedHost {
  const h = state.hosts.find((x) => x.name === name);
  if (!h) throw new Error(`no host ${name} in this testbed (hosts: ${state.hosts.map((x) => x.name).join(', ')})`);
  return h;
}

export function readPid(file: string): number | undefined {
  if (!fs.existsSync(file)) return undefined;
  const pid = Number(fs.readFileSync(file, 'utf8').trim());
  return pid > 0 ? pid : undefined;
}

/** Builds it even when the hosts have one: the build reuses a cached image only if its recipe (the guest's files) still matches. */
async function ensureTinyImage(client: DroverClient): Promise<void> {
  const has = async () => (await client.call('listImages')).some((i) => i.name === 'tiny' && i.hosts.length > 0);
  const job = await client.call('buildImage', { body: { name: 'tiny' } });
  const done = await client.waitJob(job.id);
  if (done.state !== 'succeeded') throw new Error(`building the tiny image failed: ${done.error ?? done.state}`);
  await waitUntil(has, 30_000, 'tiny image reported by the hosts');
}

async function waitUntil(fn: () => Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await fn().catch(() => false))) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

/**
 * Removes testbed `tag`: every process whose command line names its
 * directory (controller, agents, QEMUs), its namespaces and links, and the
 * directory unless `keep`. Works without its state file (after a crash).
 */
export async function testbedDown(o: { tag?: string; dir?: string; keep?: boolean }): Promise<string[]> {
  const tag = o.tag ?? 'tb';
  checkTag(tag);
  const dir = testbedDir(tag, o.dir);
  const removed: string[] = [];
  const pids = fs.existsSync(dir) ? processesMentioning(path.resolve(dir)) : [];
  await killAll(pids);
  if (pids.length) removed.push(`${pids.length} process(es): ${pids.join(' ')}`);
  if (process.getuid?.() === 0) removed.push(...(await removeFabric(tag)));
  if (!o.keep && fs.existsSync(dir)) {
    fs.rmSync(dir, { recursive: true, force: true });
    removed.push(`dir ${dir}`);
  }
  return removed;
}
