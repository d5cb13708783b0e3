// Assembles a controller: store, state, jobs, loops and the HTTP server.
// main.ts runs it as a process; tests start it in-process the same way.
import type { AddressRange } from '../core/ipv4.js';
import { hostMaintenanceKind } from './job-kinds/host-maintenance.js';
import { DEFAULT_IO_TIMEOUT_MS, haTiming, timingProblems } from '../core/ha-timing.js';
import { FAILOVER_OFF_REASON, HaMonitor, type FailoverConfig } from './ha/monitor.js';
import { DEFAULT_POWER_FENCE_TIMING, type PowerFenceTiming } from './ha/power-fence.js';
import type { PowerDriverFactory } from '../core/power.js';
import { DEFAULT_FAILOVER_TIMEOUTS, haFailoverKind, type FailoverTimeouts } from './job-kinds/ha-failover.js';
import { DEFAULT_MIGRATION_TIMEOUTS, vmMigrateKind, type MigrationTimeouts } from './job-kinds/vm-migrate.js';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import pino, { type Logger } from 'pino';
import type { FastifyInstance } from 'fastify';
import { SqliteStore } from '../store/sqlite.js';
import { AgentClient } from './agent-client.js';
import { AutomationLoop } from './automation/loop.js';
import { Assignments } from './assignments.js';
import { ChangeFeed } from './change-feed.js';
import type { ControllerContext } from './context.js';
import { EventBus } from './events.js';
import { HostLiveness, UNREACHABLE_AFTER_MS } from './host-liveness.js';
import { imageKinds } from './job-kinds/image.js';
import { vmCreateKind } from './job-kinds/vm-create.js';
import { vmDeleteKind } from './job-kinds/vm-delete.js';
import { vmPowerKinds } from './job-kinds/vm-power.js';
import { vmResizeKind } from './job-kinds/vm-resize.js';
import { vmDeviceKinds } from './job-kinds/vm-devices.js';
import { DEFAULT_VM_TIMEOUTS, type VmJobTimeouts } from './job-kinds/vm-steps.js';
import { JobRunner } from './jobs.js';
import { LiveState } from './live-state.js';
import { Reports } from './reports.js';
import { loadOrCreateSecrets, type ControllerSecrets } from './secrets.js';
import { buildServer } from './server.js';
import { ControllerState } from './state.js';

export interface ControllerOptions {
  stateDir: string;
  host?: string;
  port?: number;
  log?: Logger;
  timeouts?: Partial<VmJobTimeouts>;
  /** A host silent this long is Unreachable (default 10 s). */
  unreachableAfterMs?: number;
  /** Where bridged VMs without an address get one. */
  bridgeRange?: AddressRange;
  /** The shared storage pool as the controller sees it: HA failover watches the hosts' leases there (off without it). */
  sharedPoolDir?: string;
  /** The HA I/O timeout every failover timeout derives from (src/core/ha-timing.ts); the agents' must be the same. */
  haIoTimeoutMs?: number;
  failoverTimeouts?: Partial<FailoverTimeouts>;
  /** Reaches hosts' BMCs (power fencing, drover host power): main.ts gives the drivers of src/host/power. Absent: no BMC is reached. */
  powerDrivers?: PowerDriverFactory;
  /** How long a power-fencing power off may take to be confirmed. */
  powerFence?: Partial<PowerFenceTiming>;
}

export interface RunningController {
  url: string;
  port: number;
  secrets: ControllerSecrets;
  app: FastifyInstance;
  ctx: ControllerContext;
  close(): Promise<void>;
}

/** DROVER_MIGRATIONS_PER_HOST sets how many migrations a host takes part in at once (default 2). */
function migrationTimeouts(): MigrationTimeouts {
  const perHost = Number(process.env['DROVER_MIGRATIONS_PER_HOST'] ?? '');
  return { ...DEFAULT_MIGRATION_TIMEOUTS, ...(Number.isInteger(perHost) && perHost > 0 ? { perHost } : {}) };
}

/** The failover configuration of the options; throws when the timing breaks a margin (the controller refuses to start). */
export function failoverConfig(opts: Pick<ControllerOptions, 'sharedPoolDir' | 'haIoTimeoutMs' | 'powerFence'>): FailoverConfig | undefined {
  const timing = haTiming(opts.haIoTimeoutMs ?? DEFAULT_IO_TIMEOUT_MS);
  const problems = timingProblems(timing);
  if (problems.length) throw new Error(`HA timing (--ha-io-timeout ${timing.ioTimeoutMs}) breaks its margins: ${problems.join('; ')}`);
  if (opts.sharedPoolDir && !existsSync(opts.sharedPoolDir)) throw new Error(`--shared-pool ${opts.sharedPoolDir} does not exist: give the shared pool directory as this machine mounts it`);
  return opts.sharedPoolDir ? { sharedPoolDir: opts.sharedPoolDir, timing, powerFence: { ...DEFAULT_POWER_FENCE_TIMING, ...opts.powerFence } } : undefined;
}

export async function startController(opts: ControllerOptions): Promise<RunningController> {
  const failover = failoverConfig(opts);
  const log = opts.log ?? pino({ level: 'info' });
  const secrets = loadOrCreateSecrets(opts.stateDir);
  const store = new SqliteStore(join(opts.stateDir, 'drover.db'));
  const state = new ControllerState(store, new ChangeFeed(), new EventBus());
  const live = new LiveState();
  const stopping = new AbortController();
  const runner = new JobRunner(state, log);
  const agents = new AgentClient(secrets.credentialKey);
  const timeouts = { ...DEFAULT_VM_TIMEOUTS, ...opts.timeouts };
  const migrations = migrationTimeouts();
  for (const kind of [vmCreateKind(timeouts), vmDeleteKind(timeouts), ...vmPowerKinds(timeouts), ...imageKinds(agents), vmMigrateKind(migrations, live), hostMaintenanceKind(() => ctx), vmResizeKind(() => ctx), ...vmDeviceKinds(),
    haFailoverKind({ ...DEFAULT_FAILOVER_TIMEOUTS, confirmMs: timeouts.startMs, ...opts.failoverTimeouts }, () => ctx)]) runner.register(kind);
  const assignments = new Assignments(state);
  const automation = new AutomationLoop(() => ctx, { migrationsPerHost: migrations.perHost });
  const ha = new HaMonitor(() => ctx, failover);
  const ctx: ControllerContext = { state, live, runner, agents, assignments, reports: new Reports(state, live, assignments), secrets, automation, ha, log, stopping: stopping.signal, ...(opts.bridgeRange ? { bridgeRange: opts.bridgeRange } : {}), ...(opts.powerDrivers ? { powerDrivers: opts.powerDrivers } : {}) };
  const app = await buildServer(ctx);
  await app.listen({ host: opts.host ?? '127.0.0.1', port: opts.port ?? 7480 });
  const address = app.server.address();
  const port = typeof address === 'object' && address ? address.port : (opts.port ?? 0);
  const liveness = new HostLiveness(state, live, log, opts.unreachableAfterMs ?? UNREACHABLE_AFTER_MS);
  liveness.start();
  automation.start();
  ha.start();
  log.info(failover ? `HA failover on: leases in ${failover.sharedPoolDir}, a silent host is dead once its lease stays unchanged ${failover.timing.expireAfterMs} ms${opts.powerDrivers ? ', or once its BMC confirms it powered off (hosts with a BMC set)' : ''}` : FAILOVER_OFF_REASON);
  const resumed = await runner.resumeAll();
  if (resumed) log.info(`resumed ${resumed} running job(s)`);
  let closing: Promise<void> | undefined;
  const close = () => (closing ??= (async () => {
    stopping.abort();
    liveness.stop();
    ha.stop();
    await automation.stop();
    await runner.stop();
    await app.close();
    await store.close();
  })());
  return { url: `http://${opts.host ?? '127.0.0.1'}:${port}`, port, secrets, app, ctx, close };
}
