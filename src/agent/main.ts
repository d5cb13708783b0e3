// The host agent:
//   node --import tsx src/agent/main.ts --controller URL --name NAME
//     [--join-token T | env DROVER_JOIN_TOKEN] [--state-dir DIR] [--listen 127.0.0.1:0]
//     [--images-dir DIR] [--stop-grace-ms 20000] [--agent-url URL] [--shared-pool DIR]
//     [--ha-io-timeout 1000 | --no-ha] [--reserve-cpus 0] [--reserve-memory 0] [--ksm]
//     [--balloon] [--balloon-interval-ms 10000] [--cgroups root|own|off]
// Logs JSON to stdout and prints `agent ready host=<id> url=<agentUrl>` once
// it serves and has joined. SIGTERM/SIGINT stop the agent, never its VMs
// (its fencer stands down; docs/ha.md).
import { Command } from 'commander';
import { homedir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { DEFAULT_IO_TIMEOUT_MS } from '../core/ha-timing.js';
import { checkName } from '../core/names.js';
import { hostTotals } from '../host/inventory.js';
import { parseReservation, ReservationError, type HostReservation } from './reservation.js';
import { AgentStartError, runAgent } from './run.js';
import type { CgroupMode } from './vm-limits.js';

interface Flags {
  controller: string;
  name: string;
  joinToken?: string;
  stateDir?: string;
  listen: string;
  imagesDir?: string;
  stopGraceMs: string;
  agentUrl?: string;
  sharedPool?: string;
  forwardAddress: string;
  bridge?: string;
  ha: boolean;
  haIoTimeout: string;
  reserveCpus: string;
  reserveMemory: string;
  ksm?: boolean;
  balloon?: boolean;
  balloonIntervalMs: string;
  cgroups: string;
}

function droverHome(): string {
  return process.env['DROVER_HOME'] ?? join(homedir(), '.local', 'share', 'drover');
}

function defaultImagesDir(): string {
  return process.env['DROVER_IMAGES_DIR'] ?? join(homedir(), '.cache', 'drover', 'images');
}

function parseListen(text: string): { host: string; port: number } {
  const m = /^(.*):(\d+)$/.exec(text);
  const port = Number(m?.[2]);
  if (!m || !m[1] || !Number.isInteger(port) || port > 65535) throw new AgentStartError(`--listen must be ADDRESS:PORT, e.g. 127.0.0.1:0 (got "${text}")`);
  return { host: m[1].replace(/^\[(.*)\]$/, '$1'), port };
}

function parseIoTimeout(text: string): number {
  const ms = Number(text);
  if (!Number.isInteger(ms) || ms <= 0) throw new AgentStartError(`--ha-io-timeout must be a whole number of milliseconds (got "${text}")`);
  return ms;
}

function parseGrace(text: string): number {
  const ms = Number(text);
  if (!Number.isInteger(ms) || ms < 0) throw new AgentStartError(`--stop-grace-ms must be a whole number of milliseconds (got "${text}")`);
  return ms;
}

function parseBalloonInterval(text: string): number {
  const ms = Number(text);
  if (!Number.isInteger(ms) || ms < 500 || ms > 3_600_000) throw new AgentStartError(`--balloon-interval-ms must be a whole number of milliseconds from 500 to 3600000 (got "${text}")`);
  return ms;
}

function parseCgroupMode(text: string): CgroupMode {
  if (text === 'root' || text === 'own' || text === 'off') return text;
  throw new AgentStartError(`--cgroups must be root, own or off (got "${text}")`);
}

function reservation(flags: Flags): HostReservation {
  try {
    return parseReservation(flags, hostTotals());
  } catch (err) {
    if (err instanceof ReservationError) throw new AgentStartError(err.message);
    throw err;
  }
}

async function main(): Promise<void> {
  const flags = new Command('drover-agent')
    .description('The Drover host agent: runs the QEMU processes of this host for the controller')
    .requiredOption('--controller <url>', 'the controller URL, e.g. http://127.0.0.1:7480')
    .requiredOption('--name <name>', 'this host\'s name in the cluster')
    .option('--join-token <token>', 'the join token (first start only; default: env DROVER_JOIN_TOKEN)')
    .option('--state-dir <dir>', 'credential, VM dirs and volumes (default: $DROVER_HOME/agents/<name>)')
    .option('--listen <addr:port>', 'address of the agent API (port 0: any free port)', '127.0.0.1:0')
    .option('--images-dir <dir>', 'image store (default: $DROVER_IMAGES_DIR or ~/.cache/drover/images)')
    .option('--stop-grace-ms <ms>', 'how long a graceful stop waits before it kills QEMU', '20000')
    .option('--forward-address <addr>', 'address where port forwards of VMs on this host listen unless they name one', '127.0.0.1')
    .option('--shared-pool <dir>', 'the shared storage pool: a directory every host mounts at the same path (NFS, CephFS)')
    .option('--bridge <name>', 'the Linux bridge that bridged VMs attach to by TAP (needs root; create it first)')
    .option('--agent-url <url>', 'URL the controller uses to reach this agent (default: http://<listen address>)')
    .option('--ha-io-timeout <ms>', 'self-fencing: the lease I/O timeout every HA timeout derives from (docs/ha.md); needs --shared-pool', String(DEFAULT_IO_TIMEOUT_MS))
    .option('--no-ha', 'no self-fencing: no fencer, no lease; HA VMs are not started on this host')
    .option('--reserve-cpus <n>', 'CPUs held back for the host itself, never given to VMs (docs/operations.md)', '0')
    .option('--balloon', 'automatic balloon (off by default): take memory from idle guests when the host runs short (docs/memory.md)')
    .option('--balloon-interval-ms <ms>', 'how often the balloon policy runs', '10000')
    .option('--ksm', 'turn on Kernel Samepage Merging on this host (root): identical guest pages are merged; savings show in drover host show')
    .option('--reserve-memory <MiB>', 'memory held back for the host itself (hypervisor, page cache, daemons), never given to VMs; production: 1024-2048 or more', '0')
    .option('--cgroups <where>', 'VM CPU and memory limits: groups at the cgroup root (root), below the agent\'s own cgroup (own: containers, delegated or confined hosts), or off (docs/operations.md)', 'root')
    .parse()
    .opts<Flags>();
  const nameError = checkName(flags.name);
  if (nameError) throw new AgentStartError(`--name: ${nameError}`);
  const { host, port } = parseListen(flags.listen);
  const reserved = reservation(flags);
  const log = pino({ level: process.env['DROVER_LOG_LEVEL'] ?? 'info', base: { agent: flags.name } });
  const agent = await runAgent({
    controllerUrl: flags.controller,
    name: flags.name,
    joinToken: flags.joinToken ?? process.env['DROVER_JOIN_TOKEN'] ?? undefined,
    stateDir: flags.stateDir ?? join(droverHome(), 'agents', flags.name),
    imagesDir: flags.imagesDir ?? defaultImagesDir(),
    listenHost: host,
    listenPort: port,
    ...(flags.agentUrl ? { agentUrl: flags.agentUrl } : {}),
    stopGraceMs: parseGrace(flags.stopGraceMs),
    ...(flags.sharedPool ? { sharedPoolDir: flags.sharedPool } : {}),
    forwardAddress: flags.forwardAddress,
    ...(flags.bridge ? { bridge: flags.bridge } : {}),
    ha: flags.ha ? { ioTimeoutMs: parseIoTimeout(flags.haIoTimeout) } : false,
    reserved,
    ksm: flags.ksm === true,
    balloon: flags.balloon ? { intervalMs: parseBalloonInterval(flags.balloonIntervalMs) } : false,
    cgroups: parseCgroupMode(flags.cgroups),
    log,
  });
  console.log(`agent ready host=${agent.hostId} url=${agent.agentUrl}`);
  const stop = (signal: string): void => {
    log.info(`${signal}: stopping the agent (VMs keep running)`);
    agent.stop().then(
      () => process.exit(0),
      (err: unknown) => {
        log.error({ err }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.once('SIGTERM', () => stop('SIGTERM'));
  process.once('SIGINT', () => stop('SIGINT'));
}

main().catch((err: unknown) => {
  const message = err instanceof Error ? err.message : String(err);
  console.error(err instanceof AgentStartError ? `error: ${message}` : `error: the agent failed to start: ${message}`);
  process.exit(1);
});
