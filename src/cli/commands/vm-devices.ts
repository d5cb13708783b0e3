// `drover vm disk add|remove` and `drover vm nic add|remove`: a running VM
// gets the device hot-plugged (or unplugged) at once; a stopped one has it
// from its next start. Waits until the guest has it, unless --no-wait.
import type { Command } from 'commander';
import type { AddDiskRequest, AddNicRequest } from '../../api/devices.js';
import type { Job, Vm } from '../../api/resources.js';
import { volumeShortName } from '../../core/device-change.js';
import { action, type Ctx } from '../context.js';
import { writeLine, type CliIo } from '../io.js';
import { printJson, renderFields, UsageError } from '../output.js';
import { parseDiskBytes } from '../parse.js';
import { jobStartedLine, waitForJob } from '../wait.js';

interface WaitOption {
  wait: boolean;
}

export function registerVmDevices(vm: Command, io: CliIo): void {
  const disk = vm.command('disk').description('Add and remove data disks of a VM (hot-plugged while it runs)');
  disk.command('add')
    .description('Add a new blank data disk, or attach a detached volume of the VM again')
    .argument('<vm>', 'VM name or id')
    .option('--size <size>', 'size of a new blank disk; plain number = GiB, or 512M, 10G')
    .option('--volume <id>', 'a detached volume of this VM to attach again (its id or short name, e.g. data1)')
    .option('--no-wait', 'return once the job is accepted')
    .addHelpText('after', '\nExamples:\n  drover vm disk add web --size 10G\n  drover vm disk add web --volume data1')
    .action(action(io, addDisk));
  disk.command('remove').alias('rm')
    .description('Remove a data disk: detached and kept with the VM (attach it again with disk add --volume), or deleted with --delete')
    .argument('<vm>', 'VM name or id')
    .argument('<disk>', 'the disk: its volume id or short name (data1), see drover vm show')
    .option('--delete', 'delete its volume and data too')
    .option('--no-wait', 'return once the job is accepted')
    .action(action(io, removeDisk));
  const nic = vm.command('nic').description('Add and remove NICs of a VM (hot-plugged while it runs)');
  nic.command('add')
    .description('Add a NIC: user-mode NAT (no port forwards) or a TAP on its host\'s bridge')
    .argument('<vm>', 'VM name or id')
    .option('--network <net>', 'user (default) or bridge (its host\'s bridge, agent flag --bridge)')
    .option('--no-wait', 'return once the job is accepted')
    .action(action(io, addNic));
  nic.command('remove').alias('rm')
    .description('Remove an added NIC (net1, net2, ...; the primary net0 stays)')
    .argument('<vm>', 'VM name or id')
    .argument('<nic>', 'the NIC id, e.g. net1')
    .option('--no-wait', 'return once the job is accepted')
    .action(action(io, removeNic));
}

/** The request body of `disk add` from its flags; a bad flag is a UsageError (exit 2) before anything is sent. */
export function buildAddDiskRequest(o: { size?: string; volume?: string }): AddDiskRequest {
  if (o.size !== undefined && o.volume !== undefined) throw new UsageError('give --size for a new disk or --volume to attach a detached one, not both', '--volume', 'either --size or --volume');
  if (o.volume !== undefined) {
    if (!o.volume.trim()) throw new UsageError('--volume is empty', '--volume', 'a detached volume of the VM, e.g. data1');
    return { volume: o.volume.trim() };
  }
  if (o.size === undefined) throw new UsageError('nothing to add', '--size', '--size SIZE for a new blank disk, or --volume ID to attach a detached one');
  return { sizeBytes: parseDiskBytes(o.size, '--size') };
}

export function buildAddNicRequest(o: { network?: string }): AddNicRequest {
  const network = o.network ?? 'user';
  if (network !== 'user' && network !== 'bridge') throw new UsageError(`--network "${network}" is not a network a NIC can have`, '--network', 'user, bridge');
  return { network };
}

/** "disks boot, data1 (plugged: boot); NICs net0, net1" for the summary after a change. */
export function devicesLine(vm: Vm): string {
  const disks = vm.spec.volumes.filter((v) => !v.detached).map((v) => volumeShortName(vm.id, v.id));
  const detached = vm.spec.volumes.filter((v) => v.detached).map((v) => volumeShortName(vm.id, v.id));
  const nics = ['net0', ...(vm.spec.nics ?? []).map((n) => n.id)];
  const live = vm.liveDevices;
  const plugged = live && (live.disks.length !== disks.length || live.nics.length !== nics.length) ? ` (plugged now: ${live.disks.map((d) => volumeShortName(vm.id, d)).join(', ')}; ${live.nics.join(', ')})` : '';
  return `VM ${vm.name}: disks ${disks.join(', ')}${detached.length ? `, detached ${detached.join(', ')}` : ''}; NICs ${nics.join(', ')}${plugged}`;
}

async function follow(ctx: Ctx, res: { vm: Vm; job: Job }, o: WaitOption, title: string): Promise<void> {
  if (!o.wait) {
    if (ctx.json) return printJson(ctx.io.stdout, res);
    writeLine(ctx.io.stdout, renderFields([['VM', res.vm.name], ['Phase', res.vm.phase]]));
    return writeLine(ctx.io.stdout, jobStartedLine(res.job));
  }
  const job = await waitForJob(ctx, res.job, `${title} of VM ${res.vm.name}`);
  const vm = await ctx.client().call('getVm', { params: { name: res.vm.id } });
  if (ctx.json) return printJson(ctx.io.stdout, { vm, job });
  writeLine(ctx.io.stdout, devicesLine(vm));
}

function checkArg(value: string, what: string, allowed: string): string {
  if (!value.trim()) throw new UsageError(`${what} is empty`, what, allowed);
  return value.trim();
}

async function addDisk(ctx: Ctx, o: { size?: string; volume?: string } & WaitOption, name: string): Promise<void> {
  const body = buildAddDiskRequest(o);
  const res = await ctx.client().call('addVmDisk', { params: { name: checkArg(name, 'VM', 'a VM name or id') }, body });
  await follow(ctx, res, o, 'Adding a disk');
}

async function removeDisk(ctx: Ctx, o: { delete?: boolean } & WaitOption, name: string, disk: string): Promise<void> {
  const params = { name: checkArg(name, 'VM', 'a VM name or id'), id: checkArg(disk, 'DISK', 'a data disk of the VM, e.g. data1') };
  const res = await ctx.client().call('removeVmDisk', { params, ...(o.delete ? { query: { delete: true } } : {}) });
  await follow(ctx, res, o, `Removing disk ${params.id}`);
}

async function addNic(ctx: Ctx, o: { network?: string } & WaitOption, name: string): Promise<void> {
  const body = buildAddNicRequest(o);
  const res = await ctx.client().call('addVmNic', { params: { name: checkArg(name, 'VM', 'a VM name or id') }, body });
  await follow(ctx, res, o, 'Adding a NIC');
}

async function removeNic(ctx: Ctx, o: WaitOption, name: string, nic: string): Promise<void> {
  const params = { name: checkArg(name, 'VM', 'a VM name or id'), id: checkArg(nic, 'NIC', 'an added NIC of the VM, e.g. net1') };
  const res = await ctx.client().call('removeVmNic', { params });
  await follow(ctx, res, o, `Removing NIC ${params.id}`);
}
