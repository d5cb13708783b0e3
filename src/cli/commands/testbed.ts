// `drover testbed up|down|status|env|fault`: a real multi-host cluster on this
// machine. Unlike the other commands it runs locally (it starts the
// controller and the agents) instead of calling the API.
import { Command } from 'commander';
import { totalmem } from 'node:os';
import { cutLink, cutStorage, freezeAgent, restoreHost, stopHost } from '../../testbed/faults.js';
import { isAlive } from '../../testbed/daemons.js';
import { loadTestbed, readPid, testbedDir, testbedDown, testbedUp, type TestbedState } from '../../testbed/testbed.js';
import { action, type Ctx } from '../context.js';
import { writeLine, type CliIo } from '../io.js';
import { printJson, printTable, UsageError } from '../output.js';
import { parseCgroups, parseCount } from '../parse.js';

interface Where {
  tag?: string;
  dir?: string;
}

export function testbedCommand(io: CliIo): Command {
  const tb = new Command('testbed').description('A real multi-host cluster on this machine, for trying things out and for tests');
  const where = (c: Command) => c.option('--tag <tag>', 'names the testbed (several can coexist)', 'tb').option('--dir <dir>', 'its directory (default $DROVER_HOME/testbed-<tag>)');
  where(tb.command('up').description('Start a controller and N host agents with a shared storage pool, and build the tiny image'))
    .requiredOption('--hosts <n>', 'how many hosts (1-32)')
    .option('--netns', 'each host in its own network namespace with a bridge for bridged VMs (needs root)')
    .option('--subnet <cidr>', 'with --netns: the fabric network', '10.77.0.0/16')
    .option('--port <port>', 'controller port (default: any free one)')
    .option('--reserve-memory <MiB>', 'memory each host agent holds back for its host (agent --reserve-memory; default 0)')
    .option('--cgroups <where>', 'where each host agent puts VM cgroups for CPU and memory limits: root (default), own or off (agent --cgroups)')
    .action(action(io, up));
  where(tb.command('down').description('Stop every process of the testbed and remove its namespaces, links and directory'))
    .option('--keep', 'keep its directory (logs, state)')
    .action(action(io, down));
  where(tb.command('status').description('The testbed\'s hosts and processes')).action(action(io, status));
  where(tb.command('env').description('Shell lines that point the CLI at the testbed: eval "$(drover testbed env)"')).action(action(io, env));
  const fault = tb.command('fault').description('Inject a fault into one host');
  where(fault.command('stop-host').description('SIGKILL the host\'s agent and all its QEMUs').argument('<host>')).action(action(io, faultAction('stop-host')));
  where(fault.command('cut-link').description('Take the host off the network (--netns testbeds)').argument('<host>')).action(action(io, faultAction('cut-link')));
  where(fault.command('cut-storage').description('Cut the host from the shared pool only (--netns testbeds): it fences its HA VMs').argument('<host>')).action(action(io, faultAction('cut-storage')));
  where(fault.command('freeze-agent').description('SIGSTOP the host\'s agent (its fencer and QEMUs go on)').argument('<host>')).action(action(io, faultAction('freeze-agent')));
  where(fault.command('restore').description('Undo every fault of the host: thaw, storage and link back, restart a stopped agent').argument('<host>')).action(action(io, faultAction('restore')));
  return tb;
}

async function up(ctx: Ctx, o: Where & { hosts: string; netns?: boolean; subnet: string; port?: string; reserveMemory?: string; cgroups?: string }): Promise<void> {
  const hosts = parseCount(o.hosts, '--hosts', 1, 32);
  const port = o.port === undefined ? undefined : parseCount(o.port, '--port', 1, 65535);
  // Every agent of the testbed runs on this machine: it must leave them some memory (the agents check it too).
  const reserveMemoryMiB = o.reserveMemory === undefined ? undefined : parseCount(o.reserveMemory, '--reserve-memory', 0, Math.floor(totalmem() / 2 ** 20) - 1);
  const cgroups = o.cgroups === undefined ? undefined : parseCgroups(o.cgroups);
  const state = await testbedUp({
    hosts, netns: o.netns === true, ...(o.tag ? { tag: o.tag } : {}), ...(o.dir ? { dir: o.dir } : {}), subnet: o.subnet, ...(port ? { port } : {}),
    ...(reserveMemoryMiB ? { reserveMemoryMiB } : {}), ...(cgroups ? { cgroups } : {}), onProgress: (l) => writeLine(ctx.io.stderr, `==> ${l}`),
  });
  if (ctx.json) return printJson(ctx.io.stdout, summary(state));
  writeLine(ctx.io.stdout, [
    `Testbed "${state.tag}" is up: ${state.hosts.length} host(s), ${state.netns ? 'network namespaces with bridges' : 'processes on loopback'}.`,
    `  Controller  ${state.url}`,
    `  Shared pool ${state.sharedDir}`,
    `  Directory   ${state.dir}   (logs: controller/controller.log, agents/<host>/agent.log)`,
    '',
    `Point the CLI at it:  eval "$(drover testbed env${state.tag === 'tb' ? '' : ` --tag ${state.tag}`})"`,
    state.netns
      ? 'Then:  drover vm create web --image tiny --network bridge   (reach it at its address: drover vm show web)'
      : 'Then:  drover vm create web --image tiny --storage shared --port 8081:80',
    '       drover vm migrate web',
    `Remove it all:  drover testbed down${state.tag === 'tb' ? '' : ` --tag ${state.tag}`}`,
  ].join('\n'));
}

function summary(s: TestbedState): object {
  return { tag: s.tag, dir: s.dir, netns: s.netns, url: s.url, token: s.token, sharedDir: s.sharedDir, hosts: s.hosts.map((h) => ({ name: h.name, address: h.address, ns: h.ns })) };
}

async function down(ctx: Ctx, o: Where & { keep?: boolean }): Promise<void> {
  const removed = await testbedDown({ ...o, keep: o.keep === true });
  if (ctx.json) return printJson(ctx.io.stdout, { removed });
  writeLine(ctx.io.stdout, removed.length ? removed.map((r) => `removed ${r}`).join('\n') : 'Nothing to remove.');
}

function mustLoad(o: Where): TestbedState {
  const dir = testbedDir(o.tag, o.dir);
  const state = loadTestbed(dir);
  if (!state) throw new UsageError(`no testbed in ${dir}; start one with \`drover testbed up --hosts 2\``);
  return state;
}

async function status(ctx: Ctx, o: Where): Promise<void> {
  const s = mustLoad(o);
  const proc = (file: string) => {
    const pid = readPid(file);
    return pid && isAlive(pid) ? `running (pid ${pid})` : 'stopped';
  };
  if (ctx.json) return printJson(ctx.io.stdout, { ...summary(s), controller: proc(s.controller.pidFile), agents: s.hosts.map((h) => proc(h.pidFile)) });
  writeLine(ctx.io.stdout, `controller ${s.url}: ${proc(s.controller.pidFile)}`);
  printTable(ctx.io.stdout, ['host', 'address', 'namespace', 'agent'], s.hosts.map((h) => [h.name, h.address, h.ns, proc(h.pidFile)]), 'No hosts.');
}

async function env(ctx: Ctx, o: Where): Promise<void> {
  const s = mustLoad(o);
  writeLine(ctx.io.stdout, `export DROVER_URL=${s.url}\nexport DROVER_TOKEN=${s.token}`);
}

function faultAction(kind: 'stop-host' | 'cut-link' | 'cut-storage' | 'freeze-agent' | 'restore') {
  return async (ctx: Ctx, o: Where, host: string): Promise<void> => {
    const s = mustLoad(o);
    if (kind === 'stop-host') {
      const pids = await stopHost(s, host);
      writeLine(ctx.io.stdout, `host ${host} stopped: killed ${pids.length} process(es)${pids.length ? ` (${pids.join(' ')})` : ''}`);
    } else if (kind === 'cut-link') {
      await cutLink(s, host);
      writeLine(ctx.io.stdout, `host ${host} is off the network; \`drover testbed fault restore ${host}\` brings it back`);
    } else if (kind === 'cut-storage') {
      const n = await cutStorage(s, host);
      writeLine(ctx.io.stdout, `host ${host} is cut from the shared pool (${n} mount namespace(s)); \`drover testbed fault restore ${host}\` brings it back`);
    } else if (kind === 'freeze-agent') {
      const pid = freezeAgent(s, host);
      writeLine(ctx.io.stdout, `host ${host}'s agent (PID ${pid}) is stopped; \`drover testbed fault restore ${host}\` lets it go on`);
    } else {
      await restoreHost(s, host);
      writeLine(ctx.io.stdout, `host ${host} restored`);
    }
  };
}
