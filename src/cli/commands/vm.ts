// `drover vm ...`: create, list, show, and the power operations. Logs and the
// serial console live in their own files.
import { Command } from 'commander';
import type { DroverClient } from '../../api/client.js';
import type { Job, Vm } from '../../api/resources.js';
import { action, type Ctx } from '../context.js';
import { writeLine, type CliIo } from '../io.js';
import { buildCreateRequest, collect, type CreateOptions } from '../parse.js';
import { printJson, printTable, renderFields, UsageError } from '../output.js';
import { jobStartedLine, waitForJob } from '../wait.js';
import { registerVmConsole } from './vm-console.js';
import { registerVmLogs } from './vm-logs.js';
import { registerVmMigrate } from './vm-migrate.js';
import { registerVmSet } from './vm-set.js';
import { registerVmResize } from './vm-resize.js';
import { registerVmDevices } from './vm-devices.js';
import { addLimitOptions, registerVmLimits } from './vm-limits.js';
import { renderVmDetails, renderVmSummary, VM_COLUMNS, vmRow } from './vm-view.js';

type Op = 'start' | 'stop' | 'reboot' | 'pause' | 'resume' | 'delete';

const OPS: Record<Op, { summary: string; title: string }> = {
  start: { summary: 'Start a VM', title: 'Starting' },
  stop: { summary: 'Stop a VM (ACPI power-down; --force kills it)', title: 'Stopping' },
  reboot: { summary: 'Reset a running VM', title: 'Rebooting' },
  pause: { summary: 'Pause a running VM', title: 'Pausing' },
  resume: { summary: 'Resume a paused VM', title: 'Resuming' },
  delete: { summary: 'Stop a VM and delete it with its volumes', title: 'Deleting' },
};

export function vmCommand(io: CliIo): Command {
  const vm = new Command('vm').description('Create, run and inspect virtual machines');
  const create = vm.command('create')
    .description('Create a VM from an image (thin clone) and start it')
    .argument('<name>', "VM name: 1-63 lowercase letters, digits and '-'")
    .option('--image <name>', 'image to boot', 'tiny')
    .option('--cpus <n>', 'vCPUs (default 1)')
    .option('--memory <size>', 'memory; plain number = MiB, or 512M, 1G (default 256)')
    .option('--max-cpus <n>', 'vCPUs it may grow to by hot-add')
    .option('--max-memory <size>', 'memory it may grow to by hot-add')
    .option('--disk <size>', 'add a blank data disk; plain number = GiB, or 512M')
    .option('--port <fwd>', 'forward HOST:GUEST[/udp] or ADDR:HOST:GUEST (repeatable)', collect)
    .option('--host <host>', 'run it on this host (default: placement chooses)')
    .option('--storage <pool>', 'storage pool of its disks: local (default) or shared (needed to migrate without copying disks)')
    .option('--network <net>', 'user (NAT with --port forwards; default), bridge (an address from the controller\'s range) or bridge:ADDR/PREFIX')
    .option('--ha', 'restart it elsewhere when its host fails (HA)')
    .option('--ha-priority <n>', 'HA restart priority, higher first (-1000 to 1000, default 0)')
    .option('--host-rule <rule>', 'run only on hosts with these labels: k=v[,k=v][:should] (must unless :should; repeatable)', collect)
    .option('--group <name>', 'join this VM group (affinity or anti-affinity; repeatable)', collect)
    .option('--resource-pool <pool>', 'put it in this resource pool (drover resource-pool list)')
    .option('--no-start', 'create it stopped')
    .option('--no-wait', 'return once the job is accepted')
    .action(action(io, createVm));
  addLimitOptions(create, false);
  vm.command('list').alias('ls').description('List VMs').action(action(io, listVms));
  vm.command('show').description('Show all of a VM (ports, volumes, stats, reason)').argument('<name>', 'VM name or id').action(action(io, showVm));
  for (const op of Object.keys(OPS) as Op[]) {
    const cmd = vm.command(op).description(OPS[op].summary).argument('<name>', 'VM name or id');
    if (op === 'stop') cmd.option('--force', 'kill QEMU at once instead of an ACPI power-down');
    cmd.option('--no-wait', 'return once the job is accepted').action(action(io, (ctx, opts: OpOptions, name: string) => vmOp(ctx, op, name, opts)));
  }
  registerVmLogs(vm, io);
  registerVmConsole(vm, io);
  registerVmMigrate(vm, io);
  registerVmSet(vm, io);
  registerVmResize(vm, io);
  registerVmDevices(vm, io);
  registerVmLimits(vm, io);
  return vm;
}

async function createVm(ctx: Ctx, opts: CreateOptions & { wait: boolean }, name: string): Promise<void> {
  const body = buildCreateRequest(name, opts);
  const res = await ctx.client().call('createVm', { body });
  if (!opts.wait) return printAccepted(ctx, res);
  const job = await waitForJob(ctx, res.job, `Creating VM ${name}`);
  const vm = await ctx.client().call('getVm', { params: { name } });
  if (ctx.json) return printJson(ctx.io.stdout, { vm, job });
  writeLine(ctx.io.stdout, renderVmSummary(vm));
}

async function listVms(ctx: Ctx): Promise<void> {
  const [vms, hosts] = await Promise.all([ctx.client().call('listVms'), ctx.client().call('listHosts')]);
  if (ctx.json) return printJson(ctx.io.stdout, vms);
  printTable(ctx.io.stdout, VM_COLUMNS, vms.map((v) => vmRow(v, hosts)), 'No VMs. Create one: drover vm create NAME --image tiny');
}

async function showVm(ctx: Ctx, _opts: object, name: string): Promise<void> {
  const client = ctx.client();
  const vm = await client.call('getVm', { params: { name } });
  if (ctx.json) return printJson(ctx.io.stdout, vm);
  const [hosts, volumes, groups] = await Promise.all([client.call('listHosts'), client.call('listVolumes'), client.call('listGroups')]);
  writeLine(ctx.io.stdout, renderVmDetails(vm, hosts, volumes.filter((v) => v.vmId === vm.id), Date.now(), groups));
}

interface OpOptions {
  wait: boolean;
  force?: boolean;
}

async function vmOp(ctx: Ctx, op: Op, name: string, opts: OpOptions): Promise<void> {
  if (!name.trim()) throw new UsageError('NAME is empty', 'NAME', 'a VM name or id');
  const res = await requestOp(ctx.client(), op, name, opts.force === true);
  if (!opts.wait) return printAccepted(ctx, res);
  const job = await waitForJob(ctx, res.job, `${OPS[op].title} VM ${res.vm.name}`);
  if (op === 'delete') {
    if (ctx.json) return printJson(ctx.io.stdout, { deleted: res.vm.name, job });
    return writeLine(ctx.io.stdout, `VM ${res.vm.name} deleted`);
  }
  const vm = await ctx.client().call('getVm', { params: { name: res.vm.id } });
  if (ctx.json) return printJson(ctx.io.stdout, vm);
  writeLine(ctx.io.stdout, op === 'start' || op === 'resume' ? renderVmSummary(vm) : `VM ${vm.name} is ${vm.phase}`);
}

function requestOp(client: DroverClient, op: Op, name: string, force: boolean): Promise<{ vm: Vm; job: Job }> {
  const params = { name };
  switch (op) {
    case 'start': return client.call('startVm', { params, body: {} });
    case 'stop': return client.call('stopVm', { params, body: force ? { force } : {} });
    case 'reboot': return client.call('rebootVm', { params, body: {} });
    case 'pause': return client.call('pauseVm', { params, body: {} });
    case 'resume': return client.call('resumeVm', { params, body: {} });
    case 'delete': return client.call('deleteVm', { params });
  }
}

function printAccepted(ctx: Ctx, res: { vm: Vm; job: Job }): void {
  if (ctx.json) return printJson(ctx.io.stdout, res);
  writeLine(ctx.io.stdout, renderFields([['VM', res.vm.name], ['Phase', res.vm.phase]]));
  writeLine(ctx.io.stdout, jobStartedLine(res.job));
}
