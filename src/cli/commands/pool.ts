// `drover pool show`: the hosts by state, and the CPU and memory of the pool
// (its Ready hosts): total, reserved, used (allocated to VMs) and free.
import { Command } from 'commander';
import type { Pool, PoolAmount, PoolHa } from '../../api/pool.js';
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
  if (p.ha) lines.push('', ...renderHa(p.ha));
  return lines.join('\n');
}

/** Failover on or off, and whether HA admission holds (docs/failover.md). */
export function renderHa(ha: PoolHa): string[] {
  const seconds = (ms: number | undefined) => `${((ms ?? 0) / 1000).toFixed(1)} s`;
  const failover = ha.failover
    ? `HA failover: on (a host silent ${seconds(ha.heartbeatSuspectMs)} whose lease stays unchanged ${seconds(ha.expireAfterMs)} is failed over; I/O timeout ${ha.ioTimeoutMs} ms)`
    : `HA failover: off (${ha.reason ?? 'no shared pool'})`;
  if (ha.failures === 0) return [failover, 'HA admission: off (haFailures 0)'];
  const a = ha.admission;
  const spare = a.holds
    ? `holds, ${mib(a.spareMemoryMiB)} and ${a.spareCpus} vCPUs to spare`
    : `broken: short by ${mib(Math.max(0, -a.spareMemoryMiB))} and ${Math.max(0, -a.spareCpus)} vCPUs (new HA VMs are refused)`;
  return [failover, `HA admission (room for ${ha.failures} failed host(s)): ${spare}`];
}
