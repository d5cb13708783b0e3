// The host's fencer, a small process of its own (docs/ha.md):
//   node --import tsx src/agent/fencer/main.ts --state-dir DIR --shared-pool DIR --host-id ID
//     [--io-timeout 1000] [--timing JSON]
// The agent starts it (detached, like QEMU) and pings it over
// <state-dir>/fencer.sock; it outlives agent restarts and stops on the
// agent's stand-down (or SIGTERM) without fencing. Logs JSON to stdout.
import { Command } from 'commander';
import fs from 'node:fs';
import pino from 'pino';
import { DEFAULT_IO_TIMEOUT_MS, haTiming, timingProblems, type HaTiming } from '../../core/ha-timing.js';
import { Fencer, FencerStartError } from './fencer.js';

interface Flags {
  stateDir: string;
  sharedPool: string;
  hostId: string;
  ioTimeout: string;
  timing?: string;
}

class UsageError extends Error {}

/** haTiming(--io-timeout), with the fields of --timing (a JSON object) put over it. */
function timingFromFlags(ioTimeout: string, overrides?: string): HaTiming {
  const t = Number(ioTimeout);
  if (!Number.isInteger(t)) throw new UsageError(`--io-timeout must be a whole number of milliseconds (got "${ioTimeout}")`);
  let extra: Record<string, unknown> = {};
  if (overrides !== undefined) {
    try {
      extra = JSON.parse(overrides) as Record<string, unknown>;
    } catch {
      throw new UsageError(`--timing must be a JSON object of HaTiming fields (got "${overrides}")`);
    }
  }
  const base = haTiming(t);
  for (const [k, v] of Object.entries(extra)) {
    if (!(k in base)) throw new UsageError(`--timing: unknown field "${k}" (known: ${Object.keys(base).join(', ')})`);
    if (typeof v !== 'number') throw new UsageError(`--timing: ${k} must be a number of milliseconds`);
  }
  return { ...base, ...(extra as Partial<HaTiming>) };
}

async function main(): Promise<void> {
  const flags = new Command('drover-fencer')
    .description('Renews this host\'s lease in the shared pool while the agent pings it; kills the QEMUs of HA VMs when the lease lapses')
    .requiredOption('--state-dir <dir>', 'the agent\'s state dir (socket, pidfile, fence-targets.json, fenced.json)')
    .requiredOption('--shared-pool <dir>', 'the shared storage pool; the lease is <dir>/leases/<host-id>.json')
    .requiredOption('--host-id <id>', 'this host\'s id in the cluster')
    .option('--io-timeout <ms>', 'the I/O timeout every HA timeout derives from (src/core/ha-timing.ts)', String(DEFAULT_IO_TIMEOUT_MS))
    .option('--timing <json>', 'override derived timeouts, e.g. {"fenceAfterMs":5000} (checked like the rest)')
    .parse()
    .opts<Flags>();
  const timing = timingFromFlags(flags.ioTimeout, flags.timing);
  const problems = timingProblems(timing);
  if (problems.length) throw new UsageError(`the HA timing breaks its safety margins, refusing to start:\n  - ${problems.join('\n  - ')}`);
  if (!/^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$/.test(flags.hostId)) throw new UsageError(`--host-id "${flags.hostId}" is not usable as a file name`);
  if (!fs.existsSync(flags.stateDir)) throw new UsageError(`--state-dir ${flags.stateDir} does not exist`);
  process.umask(0o077);
  lowerOomScore();
  const log = pino({ level: process.env['DROVER_LOG_LEVEL'] ?? 'info', base: { fencer: flags.hostId, pid: process.pid } });
  const fencer = new Fencer({ stateDir: flags.stateDir, sharedPoolDir: flags.sharedPool, hostId: flags.hostId, timing, log, onStandDown: (settled) => standDownExit(settled, log) });
  // A safety process keeps going: an unexpected error is logged, never fatal.
  process.on('uncaughtException', (err) => log.error({ err }, `unexpected error (the fencer keeps running): ${err.message}`));
  process.on('unhandledRejection', (err) => log.error({ err }, 'unexpected rejection (the fencer keeps running)'));
  process.on('SIGHUP', () => log.info('SIGHUP ignored'));
  process.once('SIGTERM', () => fencer.standDown('SIGTERM'));
  process.once('SIGINT', () => fencer.standDown('SIGINT'));
  await fencer.start();
}

/** Exits after a stand-down; with a lease write hung in the kernel a normal exit could wait for it forever, so then SIGKILL. */
function standDownExit(settled: boolean, log: pino.Logger): void {
  if (!settled) log.warn('a lease write still hangs: exiting with SIGKILL');
  setTimeout(() => (settled ? process.exit(0) : process.kill(process.pid, 'SIGKILL')), 20);
}

/** The OOM killer should take anything before the fencer (needs root; ignored otherwise). */
function lowerOomScore(): void {
  try {
    fs.writeFileSync('/proc/self/oom_score_adj', '-900');
  } catch {
    // not root: the default score stays
  }
}

main().catch((err: unknown) => {
  const message = err instanceof Error ? err.message : String(err);
  console.error(err instanceof UsageError || err instanceof FencerStartError ? `error: ${message}` : `error: the fencer failed to start: ${message}`);
  process.exit(2);
});
