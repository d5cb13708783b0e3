// `drover vm set VM`: change a VM's placement settings (HA, HA priority,
// host rules); the ones not given keep their value. --host-rule replaces
// the VM's rules with those given; --clear-host-rules removes them all.
import type { Command } from 'commander';
import type { UpdateVmRequest } from '../../api/requests.js';
import type { Host, Vm } from '../../api/resources.js';
import { formatHostRule, labelsMatch } from '../../core/labels.js';
import { action, type Ctx } from '../context.js';
import { writeLine, type CliIo } from '../io.js';
import { printJson, UsageError } from '../output.js';
import { collect, parseName } from '../parse.js';
import { parseHaPriority, parseHostRules } from '../parse-constraints.js';
import { haText, hostName, hostRulesText } from './vm-view.js';

export interface SetOptions {
  ha?: boolean;
  haPriority?: string;
  hostRule?: string[];
  clearHostRules?: boolean;
  /** --resource-pool NAME sets it; --no-resource-pool makes it false. */
  resourcePool?: string | false;
}

const SET_OPTIONS = '--ha, --no-ha, --ha-priority, --host-rule, --clear-host-rules, --resource-pool, --no-resource-pool';

export function registerVmSet(vm: Command, io: CliIo): void {
  vm.command('set')
    .description('Change placement settings of a VM: HA, HA priority, host rules (the others keep their value)')
    .argument('<name>', 'VM name or id')
    .option('--ha', 'restart it elsewhere when its host fails (HA)')
    .option('--no-ha', 'do not restart it elsewhere')
    .option('--ha-priority <n>', 'HA restart priority, higher first (-1000 to 1000)')
    .option('--host-rule <rule>', 'replace its host rules with these: k=v[,k=v][:should] (must unless :should; repeatable)', collect)
    .option('--clear-host-rules', 'remove all its host rules')
    .option('--resource-pool <pool>', 'move it into this resource pool')
    .option('--no-resource-pool', 'take it out of its resource pool')
    .addHelpText('after', '\nExamples:\n  drover vm set web --ha --ha-priority 10\n  drover vm set web --host-rule zone=a --host-rule disk=ssd:should\n  drover vm set web --clear-host-rules\n  drover vm set web --resource-pool gold')
    .action(action(io, setVm));
}

/** The request body from the flags; every bad flag is a UsageError (exit 2) before anything is sent. */
export function buildUpdateRequest(o: SetOptions): UpdateVmRequest {
  const body: UpdateVmRequest = {};
  if (o.ha !== undefined) body.ha = o.ha;
  if (o.haPriority !== undefined) body.haPriority = parseHaPriority(o.haPriority);
  if (o.hostRule?.length && o.clearHostRules) throw new UsageError('--host-rule and --clear-host-rules contradict each other (--host-rule already replaces the rules)', '--clear-host-rules', 'one of --host-rule, --clear-host-rules');
  if (o.hostRule?.length) body.hostRules = parseHostRules(o.hostRule);
  if (o.clearHostRules) body.hostRules = [];
  if (o.resourcePool === false) body.resourcePool = null;
  else if (o.resourcePool !== undefined) body.resourcePool = parseName(o.resourcePool, '--resource-pool');
  if (Object.keys(body).length === 0) throw new UsageError('nothing to change', '--ha', `at least one of ${SET_OPTIONS}`);
  return body;
}

/** A must rule the VM's current host does not meet, as a note on what that means. */
export function brokenRuleNote(vm: Vm, hosts: Host[]): string | undefined {
  const host = hosts.find((h) => h.id === vm.hostId);
  if (!host) return undefined;
  const broken = (vm.spec.hostRules ?? []).filter((r) => r.strength === 'must' && !labelsMatch(host.labels, r));
  if (broken.length === 0) return undefined;
  return `note: its host ${host.name} does not carry ${broken.map(formatHostRule).join(', ')}; it stays there until it moves (drover vm migrate ${vm.name} puts it where its rules hold)`;
}

async function setVm(ctx: Ctx, o: SetOptions, name: string): Promise<void> {
  if (!name.trim()) throw new UsageError('NAME is empty', 'NAME', 'a VM name or id');
  const body = buildUpdateRequest(o);
  const vm = await ctx.client().call('updateVm', { params: { name }, body });
  if (ctx.json) return printJson(ctx.io.stdout, vm);
  const hosts = await ctx.client().call('listHosts');
  writeLine(ctx.io.stdout, `VM ${vm.name} on ${hostName(vm, hosts) ?? 'no host'}: HA ${haText(vm)}; host rules ${hostRulesText(vm) ?? 'none'}${vm.spec.resourcePool ? `; resource pool ${vm.spec.resourcePool}` : ''}`);
  const note = brokenRuleNote(vm, hosts);
  if (note) writeLine(ctx.io.stdout, note);
}
