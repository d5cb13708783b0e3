// `drover host join-token` and `drover host join`: adding this machine to a
// pool. `join` starts a host agent here (detached, with a log and a pidfile
// under $DROVER_HOME/agents/<name>) that joins the controller with the join
// token, then waits until the controller lists the host Ready.
import { Command } from 'commander';
import fs from 'node:fs';
import path from 'node:path';
import { isAlive, startDaemon, waitForLog } from '../../testbed/daemons.js';
import { droverHome, readPid } from '../../testbed/testbed.js';
import { checkName } from '../../core/names.js';
import { action, type Ctx } from '../context.js';
import { writeLine, type CliIo } from '../io.js';
import { printJson, UsageError } from '../output.js';
import { parseCgroups } from '../parse.js';

export interface JoinOptions {
  joinToken?: string;
  sharedPool?: string;
  bridge?: string;
  forwardAddress?: string;
  listen?: string;
  stateDir?: string;
  reserveCpus?: string;
  reserveMemory?: string;
  ksm?: boolean;
  balloon?: boolean;
  cgroups?: string;
}

export function registerHostJoin(host: Command, io: CliIo): void {
  host.command('join-token').description('Print the token new hosts join with, and the command to run on them').action(action(io, showJoinToken));
  host.command('join')
    .description('Start a host agent on this machine that joins the controller (--url or the config) under NAME')
    .argument('<name>', "this host's name: 1-63 lowercase letters, digits and '-'")
    .option('--join-token <token>', 'the join token (default: fetched from the controller with the admin token)')
    .option('--shared-pool <dir>', 'the shared storage pool directory, mounted at the same path on every host')
    .option('--bridge <name>', 'the Linux bridge bridged VMs attach to (root)')
    .option('--forward-address <addr>', "where VMs' port forwards listen on this host (default 127.0.0.1)")
    .option('--listen <addr:port>', 'address of the agent API; the controller must reach it (default 127.0.0.1:0)')
    .option('--state-dir <dir>', 'its state dir (default $DROVER_HOME/agents/<name>)')
    .option('--reserve-cpus <n>', 'CPUs held back for this host itself, never given to VMs (default 0)')
    .option('--reserve-memory <MiB>', 'memory held back for this host itself (hypervisor, page cache, daemons); production: 1024-2048 or more (default 0)')
    .option('--ksm', 'turn on Kernel Samepage Merging on this host (root)')
    .option('--balloon', 'automatic balloon: take memory from idle guests when the host runs short (docs/memory.md)')
    .option('--cgroups <where>', "where VM CPU and memory limits go: root (default: groups at the cgroup root), own (below the agent's own cgroup: containers, delegated or confined hosts) or off (docs/operations.md)")
    .action(action(io, joinHost));
}

async function showJoinToken(ctx: Ctx): Promise<void> {
  const { token } = await ctx.client().call('getJoinToken');
  if (ctx.json) return printJson(ctx.io.stdout, { token });
  writeLine(ctx.io.stdout, `${token}\n\nOn the new host (with this repository and Node.js 20):\n  drover --url ${ctx.client().opts.baseUrl} host join NAME --join-token ${token} [--shared-pool DIR] [--listen ADDR:0]`);
}

async function joinHost(ctx: Ctx, o: JoinOptions, name: string): Promise<void> {
  const bad = checkName(name);
  if (bad) throw new UsageError(`NAME: ${bad}`, 'NAME');
  const client = ctx.client();
  const dir = o.stateDir ?? path.join(droverHome(), 'agents', name);
  const args = agentArgs(client.opts.baseUrl, name, dir, o);
  const token = o.joinToken ?? (await client.call('getJoinToken')).token;
  const pidFile = path.join(dir, 'agent.pid');
  const logFile = path.join(dir, 'agent.log');
  const running = readPid(pidFile);
  if (running && isAlive(running)) throw new UsageError(`an agent for ${name} already runs here (pid ${running}); its log: ${logFile}`, 'NAME');
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  const offset = fs.existsSync(logFile) ? fs.statSync(logFile).size : 0;
  const pid = startDaemon({ entry: 'src/agent/main.ts', args, env: { DROVER_JOIN_TOKEN: token }, logFile, pidFile });
  writeLine(ctx.io.stderr, `==> started the agent (pid ${pid}, log ${logFile})`);
  const ready = await waitForLog(logFile, /agent ready host=(\S+)/, pid, 60_000, offset).catch((err: Error) => {
    throw new Error(`the agent did not join: ${err.message}`);
  });
  const hostId = ready[1] ?? '';
  // With only a join token (no admin token) we cannot read the host list: the agent's word must do.
  const host = o.joinToken ? await waitReady(ctx, hostId).catch(() => undefined) : await waitReady(ctx, hostId);
  if (ctx.json) return printJson(ctx.io.stdout, host ?? { id: hostId, name });
  writeLine(ctx.io.stdout, `Host ${name} joined (id ${hostId})${host ? ` and is ${host.state}` : ''}. Stop it with: kill ${pid}   (its VMs keep running)`);
}

/** The agent's command line for `drover host join` (its flags checked first: a bad one is a UsageError before anything starts). */
export function agentArgs(controllerUrl: string, name: string, dir: string, o: JoinOptions): string[] {
  if (o.cgroups !== undefined) parseCgroups(o.cgroups);
  const args = ['--controller', controllerUrl, '--name', name, '--state-dir', dir];
  for (const [flag, value] of [['--shared-pool', o.sharedPool], ['--bridge', o.bridge], ['--forward-address', o.forwardAddress], ['--listen', o.listen],
    ['--reserve-cpus', o.reserveCpus], ['--reserve-memory', o.reserveMemory], ['--cgroups', o.cgroups]] as const) {
    if (value !== undefined) args.push(flag, value);
  }
  if (o.ksm) args.push('--ksm');
  if (o.balloon) args.push('--balloon');
  return args;
}

async function waitReady(ctx: Ctx, hostId: string) {
  const deadline = Date.now() + 30_000;
  for (;;) {
    const host = (await ctx.client().call('listHosts')).find((h) => h.id === hostId);
    if (host?.state === 'Ready' || Date.now() > deadline) {
      if (!host) throw new Error(`the controller does not list host ${hostId}`);
      return host;
    }
    await new Promise((r) => setTimeout(r, 250));
  }
}
