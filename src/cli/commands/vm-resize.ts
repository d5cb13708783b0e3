// `drover vm resize VM [--cpus N] [--memory SIZE] [--migrate [--to HOST]]`:
// a running VM grows or shrinks live (vCPU hotplug, virtio-mem); a stopped
// one takes the size at its next start. Waits until the guest has it.
import type { Command } from 'commander';
import type { ResizeVmRequest } from '../../api/requests.js';
import type { Vm } from '../../api/resources.js';
import { VM_LIMITS } from '../../core/vm-limits.js';
import { action, type Ctx } from '../context.js';
import { writeLine, type CliIo } from '../io.js';
import { printJson, renderFields, UsageError } from '../output.js';
import { parseCount, parseMemoryMiB } from '../parse.js';
import { jobStartedLine, waitForJob } from '../wait.js';

export interface ResizeOptions {
  cpus?: string;
  memory?: string;
  migrate?: boolean;
  to?: string;
  wait: boolean;
}

export function registerVmResize(vm: Command, io: CliIo): void {
  vm.command('resize')
    .description('Change the vCPUs and memory of a VM, live while it runs (up to its --max-cpus/--max-memory)')
    .argument('<name>', 'VM name or id')
    .option('--cpus <n>', 'vCPUs it should have')
    .option('--memory <size>', 'memory it should have; plain number = MiB, or 768M, 2G')
    .option('--migrate', 'if its host lacks the room, live-migrate it to a host that has it first')
    .option('--to <host>', 'with --migrate: the host to move it to (default: placement chooses)')
    .option('--no-wait', 'return once the job is accepted')
    .addHelpText('after', '\nExamples:\n  drover vm resize web --cpus 4 --memory 768M\n  drover vm resize web --memory 2G --migrate')
    .action(action(io, resizeVm));
}

/** The request body from the flags; a bad flag is a UsageError (exit 2) before anything is sent. */
export function buildResizeRequest(o: Omit<ResizeOptions, 'wait'>): ResizeVmRequest {
  const body: ResizeVmRequest = {};
  if (o.cpus !== undefined) body.cpus = parseCount(o.cpus, '--cpus', VM_LIMITS.minCpus, VM_LIMITS.maxCpus);
  if (o.memory !== undefined) body.memoryMiB = parseMemoryMiB(o.memory, '--memory');
  if (body.cpus === undefined && body.memoryMiB === undefined) throw new UsageError('nothing to change', '--cpus', 'at least one of --cpus, --memory');
  if (o.to !== undefined && !o.migrate) throw new UsageError('--to only goes with --migrate', '--to', '--migrate --to HOST');
  if (o.migrate) body.migrate = true;
  if (o.to !== undefined) body.to = o.to;
  return body;
}

export function sizeLine(vm: Vm): string {
  const want = `${vm.spec.cpus} vCPUs, ${vm.spec.memoryMiB} MiB`;
  if (!vm.live) return `VM ${vm.name}: ${want} (${vm.phase}; it has them from its next start)`;
  const plugged = `${vm.live.cpus} vCPUs, ${vm.live.memoryMiB} MiB`;
  return plugged === want ? `VM ${vm.name} now has ${want}` : `VM ${vm.name}: asked for ${want}, plugged ${plugged}`;
}

async function resizeVm(ctx: Ctx, o: ResizeOptions, name: string): Promise<void> {
  if (!name.trim()) throw new UsageError('NAME is empty', 'NAME', 'a VM name or id');
  const body = buildResizeRequest(o);
  const res = await ctx.client().call('resizeVm', { params: { name }, body });
  if (!o.wait) {
    if (ctx.json) return printJson(ctx.io.stdout, res);
    writeLine(ctx.io.stdout, renderFields([['VM', res.vm.name], ['Phase', res.vm.phase]]));
    return writeLine(ctx.io.stdout, jobStartedLine(res.job));
  }
  const job = await waitForJob(ctx, res.job, `Resizing VM ${res.vm.name}`);
  const vm = await ctx.client().call('getVm', { params: { name: res.vm.id } });
  if (ctx.json) return printJson(ctx.io.stdout, { vm, job });
  writeLine(ctx.io.stdout, sizeLine(vm));
}
