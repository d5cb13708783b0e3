// `drover pool show`: the hosts by state, and the CPU and memory of the pool
// (its Ready hosts): total, reserved, used (allocated to VMs) and free.
import { Command } from 'commander';
import type { Pool, PoolAmount } from '../../api/pool.js';
import { action, type Ctx } from '../context.js';
import { writeLine, type CliIo } from '../io.js';
import { mib, printJson, renderTable } from '../output.js';

export function poolCommand(io: CliIo): Command {
  const pool = new Command('pool').description('The capacity of the pool of hosts');
  pool.command('show')
    .description('Hosts by state; CPU and memory total, reserved, used and free over the Ready hosts')
    .action(action(io, showPool));
  return pool;
}

async function showPool(ctx: Ctx): Promise<void> {
  const pool = await ctx.client().call('getPool');
  if (ctx.json) return printJson(ctx.io.stdout, pool);
  writeLine(ctx.io.stdout, renderPool(pool));
}

/** "25%" of the total; "-" when there is no total (no Ready host). */
export function percent(part: number, total: number): string {
  return total > 0 ? `${Math.round((part * 100) / total)}%` : '-';
}

function amountRow(label: string, a: PoolAmount, format: (n: number) => string): string[] {
  const cell = (n: number) => `${format(n)} (${percent(n, a.total)})`;
  return [label, format(a.total), cell(a.reserved), cell(a.used), cell(a.free)];
}

export function renderPool(p: Pool): string {
  const states = Object.entries(p.hosts.byState).filter(([, n]) => n > 0);
  const lines = [`Hosts: ${p.hosts.total}; the pool is the ${p.hosts.schedulable} Ready one(s)`];
  if (states.length) lines.push(renderTable(['state', 'hosts'], states));
  lines.push('', renderTable(['resource', 'total', 'reserved', 'used', 'free'], [
    amountRow('CPUs', p.cpus, String),
    amountRow('Memory', p.memoryMiB, mib),
  ]));
  const outside = p.vms.activeOutsidePool ? `; ${p.vms.activeOutsidePool} of them on hosts that are not Ready (not counted above)` : '';
  lines.push('', `VMs: ${p.vms.active} of ${p.vms.total} use resources${outside}`);
  if (p.cpus.used > p.cpus.total && p.cpus.total > 0) lines.push('vCPUs are overcommitted: VMs have more vCPUs than the Ready hosts have CPUs');
  return lines.join('\n');
}
