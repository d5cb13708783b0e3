// `drover host list|show|label|remove`; maintenance and activate are in
// host-maintenance.ts, the BMC (`host power ...`) in host-power.ts. Removed (Left) hosts are listed only with --all.
import { Command } from 'commander';
import type { Host, Vm } from '../../api/resources.js';
import { formatLabels } from '../../core/labels.js';
import { action, type Ctx } from '../context.js';
import { writeLine, type CliIo } from '../io.js';
import { age, formatBytes, mib, printJson, printTable, renderFields, UsageError } from '../output.js';
import { collect } from '../parse.js';
import { buildLabelsRequest } from '../parse-constraints.js';
import { registerHostJoin } from './host-join.js';
import { registerHostMaintenance } from './host-maintenance.js';
import { registerHostPower } from './host-power.js';

export function hostCommand(io: CliIo): Command {
  const host = new Command('host').description('The hosts of the pool');
  host.command('list').alias('ls').description('List hosts (removed ones only with --all)')
    .option('--all', 'also list hosts that were removed (Left)')
    .action(action(io, listHosts));
  host.command('show').description('Show a host: state, labels, capacity and use, its VMs')
    .argument('<host>', 'host name or id')
    .action(action(io, showHost));
  host.command('label')
    .description('Set labels of a host (key=value) and remove some (--remove key); VM host rules match them')
    .argument('<host>', 'host name or id')
    .argument('[labels...]', 'labels to set, as key=value')
    .option('--remove <key>', 'remove this label (repeatable, or key1,key2)', collect)
    .addHelpText('after', '\nExamples:\n  drover host label h1 zone=a rack=r12\n  drover host label h1 --remove rack\n  drover vm create db --host-rule zone=a   (runs only on hosts labelled zone=a)')
    .action(action(io, labelHost));
  host.command('remove')
    .description('Remove a host from the pool: it turns Left and its agent can no longer report or join under its name (refused while VMs are on it)')
    .argument('<host>', 'host name or id')
    .action(action(io, removeHost));
  registerHostMaintenance(host, io);
  registerHostJoin(host, io);
  registerHostPower(host, io);
  return host;
}

async function listHosts(ctx: Ctx, opts: { all?: boolean }): Promise<void> {
  const all = await ctx.client().call('listHosts');
  const hosts = opts.all ? all : all.filter((h) => h.state !== 'Left');
  if (ctx.json) return printJson(ctx.io.stdout, hosts);
  // The HA verdict column only while failover is on (with it off every host would say so).
  const ha = hosts.some((h) => h.ha && h.ha.verdict !== 'off');
  const head = ['name', 'state', 'cpus', 'memory', 'reserved', 'kvm', 'cpu used', 'memory used', 'vms', 'free disk', 'qemu', 'last seen', 'agent', 'labels', ...(ha ? ['ha'] : [])];
  printTable(ctx.io.stdout, head, hosts.map((h) => [...hostRow(h), ...(ha ? [h.ha?.verdict] : [])]), all.length ? 'No hosts in the pool.' : 'No hosts joined yet. Start an agent: npm run up');
  const hidden = all.length - hosts.length;
  if (hidden) writeLine(ctx.io.stdout, `(${hidden} removed host(s) not shown; --all lists them)`);
  const off = hosts.find((h) => h.ha?.verdict === 'off');
  if (off) writeLine(ctx.io.stdout, off.ha?.reason ?? 'HA failover is off');
  for (const h of hosts) if (h.ha && NOTED.has(h.ha.verdict)) writeLine(ctx.io.stdout, `${h.name}: ${h.ha.verdict}, ${h.ha.reason}`);
}

/** HA verdicts worth a line under the table (docs/failover.md). */
const NOTED = new Set(['isolated', 'suspected', 'dead', 'no-lease', 'lease-stale', 'lease-lost', 'fenced']);

/** "used/total", or just "used" when the host has not reported its size. */
function usedOf(used: number | undefined, total: number | undefined, format: (n: number) => string): string | undefined {
  if (used === undefined) return undefined;
  return total === undefined ? format(used) : `${format(used)}/${format(total)}`;
}

/** What the host holds back for itself (agent --reserve-cpus, --reserve-memory): "1 CPU, 2 GiB", "none", or undefined before its inventory. */
export function reservedText(inv: Host['inventory']): string | undefined {
  if (!inv) return undefined;
  const parts = [inv.reservedCpus ? `${inv.reservedCpus} CPU${inv.reservedCpus === 1 ? '' : 's'}` : '', inv.reservedMemoryMiB ? mib(inv.reservedMemoryMiB) : ''].filter(Boolean);
  return parts.length ? parts.join(', ') : 'none';
}

/** "on, saves 1.2 GiB", "off", or undefined when the kernel has no KSM (or before the inventory). */
export function ksmText(inv: Host['inventory']): string | undefined {
  if (!inv?.ksm) return undefined;
  return inv.ksm.running ? `on, saves ${formatBytes(inv.ksm.savedBytes)}` : `off (agent flag --ksm turns it on)${inv.ksm.savedBytes ? `, still saves ${formatBytes(inv.ksm.savedBytes)}` : ''}`;
}

function hostRow(h: Host): Array<string | number | undefined> {
  const inv = h.inventory;
  return [
    h.name,
    h.state,
    inv?.cpus,
    inv ? mib(inv.memoryMiB) : undefined,
    reservedText(inv),
    inv ? (inv.kvm ? 'yes' : 'no (TCG)') : undefined,
    usedOf(h.usage?.cpus, inv?.cpus, String),
    usedOf(h.usage?.memoryMiB, inv?.memoryMiB, mib),
    h.usage?.vms,
    inv ? formatBytes(inv.freeDiskBytes) : undefined,
    inv?.qemuVersion,
    h.lastSeenAt ? `${age(h.lastSeenAt)} ago` : undefined,
    h.agentUrl,
    formatLabels(h.labels) || undefined,
  ];
}

function checkHost(name: string): void {
  if (!name.trim()) throw new UsageError('HOST is empty', 'HOST', 'a host name or id (see: drover host list)');
}

async function showHost(ctx: Ctx, _opts: object, name: string): Promise<void> {
  checkHost(name);
  const client = ctx.client();
  const host = await client.call('getHost', { params: { name } });
  if (ctx.json) return printJson(ctx.io.stdout, host);
  const vms = (await client.call('listVms')).filter((v) => v.hostId === host.id);
  writeLine(ctx.io.stdout, renderHost(host, vms));
}

export function renderHost(h: Host, vms: Vm[]): string {
  const inv = h.inventory;
  const fields = renderFields([
    ['Name', h.name],
    ['ID', h.id],
    ['State', h.state],
    ['HA', h.ha ? `${h.ha.verdict}: ${h.ha.reason}` : undefined],
    ...(h.failedAt ? [['Failed at', `${h.failedAt} (failover job ${h.failoverJobId ?? '-'})`] as [string, string]] : []),
    ['Labels', formatLabels(h.labels) || undefined],
    ['CPUs', usedOf(h.usage?.cpus, inv?.cpus, (n) => `${n}`)],
    ['Memory', usedOf(h.usage?.memoryMiB, inv?.memoryMiB, mib)],
    ['Reserved', reservedText(inv)],
    ['KVM', inv ? (inv.kvm ? 'yes' : 'no (TCG)') : undefined],
    ['QEMU', inv?.qemuVersion],
    ['Free disk', inv ? formatBytes(inv.freeDiskBytes) : undefined],
    ['KSM', ksmText(inv)],
    ['Agent', h.agentUrl],
    ['Last seen', h.lastSeenAt ? `${age(h.lastSeenAt)} ago` : undefined],
  ]);
  const list = vms.length ? vms.map((v) => `  ${v.name} (${v.phase}, ${v.spec.cpus} vCPU, ${mib(v.spec.memoryMiB)})`).join('\n') : '  (none)';
  return `${fields}\nVMs:\n${list}`;
}

async function labelHost(ctx: Ctx, opts: { remove?: string[] }, name: string, labels: string[]): Promise<void> {
  checkHost(name);
  const body = buildLabelsRequest(labels, opts.remove ?? []);
  const host = await ctx.client().call('setHostLabels', { params: { name }, body });
  if (ctx.json) return printJson(ctx.io.stdout, host);
  writeLine(ctx.io.stdout, `Host ${host.name} labels: ${formatLabels(host.labels) || '(none)'}`);
}

async function removeHost(ctx: Ctx, _opts: object, name: string): Promise<void> {
  checkHost(name);
  const host = await ctx.client().call('removeHost', { params: { name } });
  if (ctx.json) return printJson(ctx.io.stdout, host);
  writeLine(ctx.io.stdout, `Host ${host.name} removed: it is ${host.state}, and its agent can no longer report or join under this name`);
  const vms = host.usage?.vms ?? 0;
  if (vms) writeLine(ctx.io.stdout, `  its ${vms} stopped VM(s) stay recorded; their disks were on that host`);
}
