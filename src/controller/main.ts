// The controller process:
//   node --import tsx src/controller/main.ts [--state-dir DIR] [--listen 127.0.0.1:7480]
//     [--shared-pool DIR [--ha-io-timeout 1000]]
// The process is where the controller gets its power drivers (src/host/power:
// Redfish, IPMI), the one adapter of src/host it is given: a BMC is reached
// from the controller, not from the host it switches off.
// Prints the admin token on its first start, and `controller ready url=...`
// once it listens. SIGTERM/SIGINT stop it cleanly (running jobs resume on the
// next start).
//
// Test hook: DROVER_CRASH_AT=<jobKind>:<stepName> (e.g. vm.create:start)
// makes the controller SIGKILL itself right before that step (see jobs.ts).
import { Command } from 'commander';
import { homedir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { DEFAULT_IO_TIMEOUT_MS } from '../core/ha-timing.js';
import { parseRange } from '../core/ipv4.js';
import { powerDriverFactory } from '../host/power/drivers.js';
import { startController } from './controller.js';

function defaultStateDir(): string {
  const home = process.env.DROVER_HOME ?? join(homedir(), '.local', 'share', 'drover');
  return join(home, 'controller');
}

function parseListen(text: string): { host: string; port: number } {
  const m = /^(.*):(\d+)$/.exec(text);
  const port = Number(m?.[2]);
  if (!m || !m[1] || !Number.isInteger(port) || port > 65535) throw new Error(`--listen must be ADDRESS:PORT, e.g. 127.0.0.1:7480 (got "${text}")`);
  return { host: m[1].replace(/^\[(.*)\]$/, '$1'), port };
}

async function main(): Promise<void> {
  const program = new Command('drover-controller')
    .description('The Drover controller: API server, store, jobs and reconcile loops')
    .option('--state-dir <dir>', 'where the database and tokens live', defaultStateDir())
    .option('--listen <addr:port>', 'address to listen on (port 0: any free port)', '127.0.0.1:7480')
    .option('--bridge-range <first-last/prefix>', 'addresses for bridged VMs that name none, e.g. 10.77.1.1-10.77.255.254/16')
    .option('--shared-pool <dir>', 'the shared storage pool as this machine mounts it: HA failover watches the hosts\' leases there (docs/failover.md); without it failover is off')
    .option('--ha-io-timeout <ms>', 'the HA I/O timeout every failover timeout derives from; the same as the agents\' --ha-io-timeout', String(DEFAULT_IO_TIMEOUT_MS))
    .parse();
  const opts = program.opts<{ stateDir: string; listen: string; bridgeRange?: string; sharedPool?: string; haIoTimeout: string }>();
  const haIoTimeoutMs = Number(opts.haIoTimeout);
  if (!Number.isInteger(haIoTimeoutMs) || haIoTimeoutMs <= 0) throw new Error(`--ha-io-timeout must be a whole number of milliseconds (got "${opts.haIoTimeout}")`);
  const { host, port } = parseListen(opts.listen);
  const bridgeRange = opts.bridgeRange === undefined ? undefined : parseRange(opts.bridgeRange);
  if (typeof bridgeRange === 'string') throw new Error(`--bridge-range: ${bridgeRange}`);
  const log = pino({ level: process.env.DROVER_LOG_LEVEL ?? 'info' });
  const controller = await startController({ stateDir: opts.stateDir, host, port, log, haIoTimeoutMs, powerDrivers: powerDriverFactory(), ...(opts.sharedPool ? { sharedPoolDir: opts.sharedPool } : {}), ...(bridgeRange ? { bridgeRange } : {}) });
  if (controller.secrets.created) {
    console.log(`admin token (shown once; also in ${join(opts.stateDir, 'admin-token')}): ${controller.secrets.adminToken}`);
  }
  console.log(`controller ready url=${controller.url}`);
  const stop = (signal: string) => {
    log.info(`${signal}: shutting down`);
    controller.close().then(() => process.exit(0), (err) => {
      log.error({ err }, 'shutdown failed');
      process.exit(1);
    });
  };
  process.once('SIGTERM', () => stop('SIGTERM'));
  process.once('SIGINT', () => stop('SIGINT'));
}

main().catch((err) => {
  console.error(`error: ${(err as Error).message}`);
  process.exit(1);
});
