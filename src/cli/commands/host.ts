// `drover host list`; maintenance and activate are in host-maintenance.ts.
import { Command } from 'commander';
import type { Host } from '../../api/resources.js';
import { action, type Ctx } from '../context.js';
import type { CliIo } from '../io.js';
import { age, formatBytes, mib, printJson, printTable } from '../output.js';
import { registerHostMaintenance } from './host-maintenance.js';

export function hostCommand(io: CliIo): Command {
  const host = new Command('host').description('The hosts of the pool');
  host.command('list').alias('ls').description('List hosts').action(action(io, listHosts));
  registerHostMaintenance(host, io);
  return host;
}

async function listHosts(ctx: Ctx): Promise<void> {
  const hosts = await ctx.client().call('listHosts');
  if (ctx.json) return printJson(ctx.io.stdout, hosts);
  printTable(ctx.io.stdout, ['name', 'state', 'cpus', 'memory', 'kvm', 'free disk', 'qemu', 'last seen', 'agent'], hosts.map(hostRow), 'No hosts joined yet. Start an agent: npm run up');
}

function hostRow(h: Host): Array<string | number | undefined> {
  const inv = h.inventory;
  return [
    h.name,
    h.state,
    inv?.cpus,
    inv ? mib(inv.memoryMiB) : undefined,
    inv ? (inv.kvm ? 'yes' : 'no (TCG)') : undefined,
    inv ? formatBytes(inv.freeDiskBytes) : undefined,
    inv?.qemuVersion,
    h.lastSeenAt ? `${age(h.lastSeenAt)} ago` : undefined,
    h.agentUrl,
  ];
}
