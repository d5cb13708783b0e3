// `drover host list` and `drover host remove`; maintenance and activate are in
// host-maintenance.ts. Removed (Left) hosts are listed only with --all.
import { Command } from 'commander';
import type { Host } from '../../api/resources.js';
import { action, type Ctx } from '../context.js';
import { writeLine, type CliIo } from '../io.js';
import { age, formatBytes, mib, printJson, printTable, UsageError } from '../output.js';
import { registerHostJoin } from './host-join.js';
import { registerHostMaintenance } from './host-maintenance.js';

export function hostCommand(io: CliIo): Command {
  const host = new Command('host').description('The hosts of the pool');
  host.command('list').alias('ls').description('List hosts (removed ones only with --all)')
    .option('--all', 'also list hosts that were removed (Left)')
    .action(action(io, listHosts));
  host.command('remove')
    .description('Remove a host from the pool: it turns Left and its agent can no longer report or join under its name (refused while VMs are on it)')
    .argument('<host>', 'host name or id')
    .action(action(io, removeHost));
  registerHostMaintenance(host, io);
  registerHostJoin(host, io);
  return host;
}

async function listHosts(ctx: Ctx, opts: { all?: boolean }): Promise<void> {
  const all = await ctx.client().call('listHosts');
  const hosts = opts.all ? all : all.filter((h) => h.state !== 'Left');
  if (ctx.json) return printJson(ctx.io.stdout, hosts);
  const head = ['name', 'state', 'cpus', 'memory', 'kvm', 'cpu used', 'memory used', 'vms', 'free disk', 'qemu', 'last seen', 'agent'];
  printTable(ctx.io.stdout, head, hosts.map(hostRow), all.length ? 'No hosts in the pool.' : 'No hosts joined yet. Start an agent: npm run up');
  const hidden = all.length - hosts.length;
  if (hidden) writeLine(ctx.io.stdout, `(${hidden} removed host(s) not shown; --all lists them)`);
}

/** "used/total", or just "used" when the host has not reported its size. */
function usedOf(used: number | undefined, total: number | undefined, format: (n: number) => string): string | undefined {
  if (used === undefined) return undefined;
  return total === undefined ? format(used) : `${format(used)}/${format(total)}`;
}

function hostRow(h: Host): Array<string | number | undefined> {
  const inv = h.inventory;
  return [
    h.name,
    h.state,
    inv?.cpus,
    inv ? mib(inv.memoryMiB) : undefined,
    inv ? (inv.kvm ? 'yes' : 'no (TCG)') : undefined,
    usedOf(h.usage?.cpus, inv?.cpus, String),
    usedOf(h.usage?.memoryMiB, inv?.memoryMiB, mib),
    h.usage?.vms,
    inv ? formatBytes(inv.freeDiskBytes) : undefined,
    inv?.qemuVersion,
    h.lastSeenAt ? `${age(h.lastSeenAt)} ago` : undefined,
    h.agentUrl,
  ];
}

async function removeHost(ctx: Ctx, _opts: object, name: string): Promise<void> {
  if (!name.trim()) throw new UsageError('HOST is empty', 'HOST', 'a host name or id (see: drover host list)');
  const host = await ctx.client().call('removeHost', { params: { name } });
  if (ctx.json) return printJson(ctx.io.stdout, host);
  writeLine(ctx.io.stdout, `Host ${host.name} removed: it is ${host.state}, and its agent can no longer report or join under this name`);
  const vms = host.usage?.vms ?? 0;
  if (vms) writeLine(ctx.io.stdout, `  its ${vms} stopped VM(s) stay recorded; their disks were on that host`);
}
