// The agent process once its options are parsed: check QEMU, find its VMs
// again, serve its API, join (first start only), then long-poll assignments
// and report until told to stop.
import fs from 'node:fs';
import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import { DEFAULT_IO_TIMEOUT_MS, haTiming, timingProblems, type HaTiming } from '../core/ha-timing.js';
import { hostInventory } from '../host/inventory.js';
import { isBridge } from '../host/network.js';
import { sharedPoolId, sharedPoolInfo } from '../host/shared-pool.js';
import { detectHostCaps, kvmRetester } from '../qemu/caps.js';
import { testKernels } from '../qemu/kvm-check.js';
import { checkRunDir } from '../qemu/run-dir.js';
import { Agent } from './agent.js';
import { backoff, ControllerLink, isUnauthorized, retryTransient, sleep } from './controller-link.js';
import { FencerStartFailed } from './fencer/client.js';
import { HostHa } from './ha.js';
import { buildAgentServer } from './http.js';
import { buildHostReport, Reporter } from './report.js';
import { agentPaths, loadHostIdentity, saveHostIdentity, vmDir, type AgentPaths, type HostIdentity } from './state-files.js';
import { enableKsm } from '../host/ksm.js';
import { readHostMemory } from '../host/meminfo.js';
import { BalloonLoop, type BalloonChange } from './balloon-loop.js';
import { BalloonDecisionQueue } from './balloon-decisions.js';
import { hostCgroups, type CgroupMode } from './vm-limits.js';

export interface AgentOptions {
  controllerUrl: string;
  name: string;
  joinToken?: string;
  stateDir: string;
  imagesDir: string;
  listenHost: string;
  listenPort: number;
  /** How the controller reaches this agent; default http://LISTEN-HOST:PORT. */
  agentUrl?: string;
  stopGraceMs: number;
  /** The shared storage pool's directory, when this host mounts one. */
  sharedPoolDir?: string;
  /** Where port forwards listen when a VM's forward names no address (default 127.0.0.1). */
  forwardAddress?: string;
  /** The bridge bridged VMs attach to; it must exist. */
  bridge?: string;
  /**
   * Self-fencing (docs/ha.md), with the I/O timeout every HA timeout derives
   * from; false: off (--no-ha). It needs the shared pool (the lease lives
   * there). Default: on, DEFAULT_IO_TIMEOUT_MS.
   */
  ha?: { ioTimeoutMs: number } | false;
  /** CPUs and memory held back for the host itself, reported in the inventory (--reserve-cpus, --reserve-memory); default none. */
  reserved?: { cpus: number; memoryMiB: number };
  /** The automatic balloon (docs/memory.md; --balloon); absent or false: off. */
  balloon?: false | { intervalMs?: number };
  /** Turn KSM on at start (--ksm); a host that cannot (not root, no KSM) logs why and goes on. */
  ksm?: boolean;
  /** Where VM cgroups go for CPU and memory limits (--cgroups); default root. */
  cgroups?: CgroupMode;
  /** node's argv for the fencer process (tests); default: the fencer of this build. */
  fencerCommand?: string[];
  log: Logger;
}

/** A problem the operator must fix; main prints it and exits non-zero. */
export class AgentStartError extends Error {
  override name = 'AgentStartError';
}

const WAIT_MS = 25_000;
const REJOIN_MIN_INTERVAL_MS = 30_000;

export interface RunningAgent {
  hostId: string;
  agentUrl: string;
  stop(): Promise<void>;
}

export async function runAgent(o: AgentOptions): Promise<RunningAgent> {
  const timing = agentHaTiming(o.ha);
  const kernels = () => testKernels(o.imagesDir);
  const caps = await detectHostCaps({ kernels: kernels() }).catch((err: Error) => {
    throw new AgentStartError(err.message);
  });
  o.log.info(`accelerator: ${caps.kvm ? 'KVM' : 'TCG'} (${caps.kvmReason ?? ''})`);
  const retestKvm = kvmRetester(kernels, (c) => o.log.info(`accelerator: ${c.kvm ? 'KVM' : 'TCG'} (${c.kvmReason ?? ''})`));
  if (o.bridge && !(await isBridge(o.bridge))) throw new AgentStartError(`--bridge ${o.bridge}: no such bridge on this host (create it: ip link add ${o.bridge} type bridge && ip link set ${o.bridge} up)`);
  if (o.ksm) {
    const r = enableKsm();
    if (r.enabled) o.log.info(r.wrote, 'KSM on');
    else o.log.warn(`--ksm: KSM stays as it is: ${r.reason}`);
  }
  const paths = agentPaths(o.stateDir, o.sharedPoolDir);
  const poolId = paths.sharedPoolDir ? openSharedPool(paths.sharedPoolDir) : undefined;
  fs.mkdirSync(paths.stateDir, { recursive: true, mode: 0o700 });
  warnIfRunDirTooLong(paths, o.log);
  let identity = loadHostIdentity(paths);
  if (!identity && !o.joinToken) throw new AgentStartError('no join token: pass --join-token or set DROVER_JOIN_TOKEN (it is in the controller state dir, file join-token)');

  const link = new ControllerLink(o.controllerUrl);
  const inventory = async () => {
    retestKvm(caps);
    const inv = { ...(await hostInventory({ stateDir: paths.stateDir, kvm: caps.kvm, qemuVersion: caps.qemuVersion, ...(o.reserved ? { reserved: o.reserved } : {}) })), forwardAddress: o.forwardAddress ?? '127.0.0.1', ...(o.bridge ? { bridge: o.bridge } : {}) };
    return paths.sharedPoolDir && poolId ? { ...inv, sharedPool: await sharedPoolInfo(paths.sharedPoolDir, poolId) } : inv;
  };
  // Reports start after the join; until then soon() is a no-op.
  const ha = hostHa(o, timing, paths, () => agent);
  // Balloon decisions ride on the reports until the controller acknowledges them (docs/memory.md).
  const decisions = new BalloonDecisionQueue();
  const build = () => buildHostReport(agent, inventory, o.imagesDir, () => ha.report(), () => decisions.pending());
  const reporter = new Reporter(build, async (r) => decisions.ack((await link.report(r)).balloonAck), o.log);
  const changed = () => {
    reporter.soon();
    ha.targetsChanged();
  };
  const agent: Agent = new Agent({ paths, imagesDir: o.imagesDir, forwardAddress: o.forwardAddress ?? '127.0.0.1', ...(o.bridge ? { bridge: o.bridge } : {}), caps, stopGraceMs: o.stopGraceMs, log: o.log, changed, removed: (id) => agent.removed(id), haGate: ha, cgroups: hostCgroups(o.cgroups ?? 'root', o.log) });
  await agent.reattach();
  ha.targetsChanged();

  const app = await buildAgentServer({ agent, imagesDir: o.imagesDir, log: o.log, credential: () => identity?.credential, hostId: () => identity?.hostId });
  const agentUrl = o.agentUrl ?? (await listen(app, o, identity));
  const join = async (): Promise<HostIdentity> => {
    const token = o.joinToken ?? '';
    const r = await retryTransient(
      async () => link.join({ joinToken: token, name: o.name, agentUrl, inventory: await inventory() }),
      (err, ms) => o.log.warn(`controller ${o.controllerUrl} unreachable (${(err as Error).message}); retrying in ${ms} ms`),
    ).catch((err: Error) => {
      throw new AgentStartError(`the controller refused the join: ${err.message}`);
    });
    const joined = { hostId: r.hostId, credential: r.credential, agentUrl };
    saveHostIdentity(paths, joined);
    o.log.info({ hostId: r.hostId }, `joined the controller as ${o.name}`);
    return joined;
  };
  // Join on the first start, and again when our URL changed and we can (the controller must reach us).
  if (!identity || (identity.agentUrl !== agentUrl && o.joinToken)) identity = await join();
  else if (identity.agentUrl !== agentUrl) o.log.warn(`agent URL changed to ${agentUrl} but no join token was given: the controller still uses ${identity.agentUrl}`);
  link.credential = identity.credential;
  await ha.start(identity.hostId).catch((err: Error) => {
    throw err instanceof FencerStartFailed ? new AgentStartError(`cannot start the fencer (HA; --no-ha turns it off): ${err.message}`) : err;
  });

  reporter.start();
  const balloon = startBalloon(o, agent, (change) => {
    decisions.add(change);
    reporter.soon();
  });
  const abort = new AbortController();
  const onIdentity = (id: HostIdentity) => {
    if (id.hostId !== identity?.hostId) void ha.rehost(id.hostId).catch((err: Error) => o.log.error({ err }, `cannot move the fencer to host id ${id.hostId}: ${err.message}`));
    identity = id;
  };
  const loop = pollAssignments({ link, agent, log: o.log, signal: abort.signal, rejoin: o.joinToken ? join : undefined, onIdentity });
  const hostId = identity.hostId;
  return {
    hostId,
    agentUrl,
    async stop() {
      abort.abort();
      reporter.stop();
      await balloon?.stop();
      await loop;
      agent.detachAll();
      await ha.stop();
      await app.close();
    },
  };
}

/**
 * The host's balloon loop over the agent's running VMs. Test hook (never in
 * production): DROVER_BALLOON_HOST_AVAILABLE_MIB makes the loop believe the
 * host has only that much memory available, to put it under pressure.
 */
function startBalloon(o: AgentOptions, agent: Agent, onChange: (change: BalloonChange) => void): BalloonLoop | undefined {
  if (!o.balloon) return undefined;
  const fakeAvailable = Number(process.env['DROVER_BALLOON_HOST_AVAILABLE_MIB'] ?? NaN);
  const loop = new BalloonLoop({
    vms: { list: () => agent.balloonVms() },
    log: o.log,
    ...(o.balloon?.intervalMs ? { intervalMs: o.balloon.intervalMs } : {}),
    reservedMiB: o.reserved?.memoryMiB ?? 0,
    onChange,
    ...(Number.isFinite(fakeAvailable) ? { hostMemory: async () => ({ ...(await readHostMemory()), availableMiB: fakeAvailable }) } : {}),
  });
  loop.start();
  return loop;
}

interface PollDeps {
  link: ControllerLink;
  agent: Agent;
  log: Logger;
  signal: AbortSignal;
  rejoin?: () => Promise<HostIdentity>;
  onIdentity(id: HostIdentity): void;
}

/** Long-polls the assignments and hands each answer to the agent; waits out controller outages. */
async function pollAssignments(d: PollDeps): Promise<void> {
  let since: number | undefined;
  let failing = false;
  let lastRejoin = 0;
  const delays = backoff();
  while (!d.signal.aborted) {
    try {
      const res = await d.link.assignments(since, WAIT_MS, d.signal);
      since = res.revision;
      delays.reset();
      if (failing) d.log.info('assignments reach us again');
      failing = false;
      d.agent.apply(res.vms);
    } catch (err) {
      if (d.signal.aborted) break;
      if (isUnauthorized(err) && d.rejoin && Date.now() - lastRejoin > REJOIN_MIN_INTERVAL_MS) {
        lastRejoin = Date.now();
        d.log.warn('the controller refused our credential; joining again with the join token');
        const joined = await d.rejoin().catch((e: Error) => (d.log.error(e.message), undefined));
        if (joined) {
          d.link.credential = joined.credential;
          d.onIdentity(joined);
          continue;
        }
      }
      if (!failing) d.log.warn({ err }, `cannot get assignments: ${(err as Error).message}; VMs keep running, retrying`);
      failing = true;
      await sleep(delays.next(), d.signal);
    }
  }
}

/** Listens; with port 0 it first tries the port of the last run, so the controller's URL for us stays valid. */
async function listen(app: FastifyInstance, o: AgentOptions, identity: HostIdentity | null): Promise<string> {
  const previous = identity?.agentUrl ? new URL(identity.agentUrl) : undefined;
  if (o.listenPort === 0 && previous && previous.hostname === o.listenHost && previous.port) {
    try {
      await app.listen({ host: o.listenHost, port: Number(previous.port) });
      return urlOf(o.listenHost, Number(previous.port));
    } catch {
      o.log.info(`port ${previous.port} of the last run is taken; listening on a new one`);
    }
  }
  await app.listen({ host: o.listenHost, port: o.listenPort });
  const addr = app.server.address();
  return urlOf(o.listenHost, typeof addr === 'object' && addr ? addr.port : o.listenPort);
}

function urlOf(host: string, port: number): string {
  const shown = host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host.includes(':') ? `[${host}]` : host;
  return `http://${shown}:${port}`;
}

/** The HA timing of the options, checked (the agent refuses to start with broken margins). */
export function agentHaTiming(ha: AgentOptions['ha']): HaTiming | undefined {
  if (ha === false) return undefined;
  const timing = haTiming(ha?.ioTimeoutMs ?? DEFAULT_IO_TIMEOUT_MS);
  const problems = timingProblems(timing);
  if (problems.length) throw new AgentStartError(`--ha-io-timeout ${timing.ioTimeoutMs}: the HA timing breaks its safety margins:\n  - ${problems.join('\n  - ')}`);
  return timing;
}

function hostHa(o: AgentOptions, timing: HaTiming | undefined, paths: AgentPaths, agent: () => Agent): HostHa {
  const on = timing && paths.sharedPoolDir ? { sharedPoolDir: paths.sharedPoolDir, timing } : undefined;
  const offReason = !timing ? 'turned off (--no-ha)' : 'no shared pool (--shared-pool): the lease lives there';
  return new HostHa({
    stateDir: paths.stateDir, log: o.log, ...(on ?? { offReason }),
    ...(o.fencerCommand ? { fencerCommand: o.fencerCommand } : {}),
    targets: () => agent().fenceTargets(),
    onFresh: () => agent().retryRefusedStarts(),
  });
}

function openSharedPool(dir: string): string {
  try {
    return sharedPoolId(dir);
  } catch (err) {
    throw new AgentStartError(`--shared-pool ${dir}: ${(err as Error).message}`);
  }
}

function warnIfRunDirTooLong(paths: AgentPaths, log: Logger): void {
  try {
    checkRunDir(vmDir(paths, '0123456789abcdef'));
  } catch (err) {
    log.warn(`--state-dir ${paths.stateDir} is long: ${(err as Error).message}`);
  }
}
