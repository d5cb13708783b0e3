// `drover host power set|show|remove|status|off|on HOST`: a host's BMC
// (Redfish or IPMI) for power fencing (docs/failover.md) and manual power
// actions. The password is read from a file (or stdin with `-`), never
// taken on the command line where `ps` and shell history would keep it.
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { Option, type Command } from 'commander';
import type { HostPowerRequest, HostPowerSettings, HostPowerState } from '../../api/power.js';
import { POWER_DRIVERS, type PowerDriverName } from '../../core/power.js';
import { action, type Ctx } from '../context.js';
import { writeLine, type CliIo } from '../io.js';
import { printJson, renderFields, UsageError } from '../output.js';

interface SetOptions {
  driver: PowerDriverName;
  address: string;
  user: string;
  passwordFile?: string;
  insecure?: boolean;
}

export function registerHostPower(host: Command, io: CliIo): void {
  const power = host.command('power').description("A host's BMC (Redfish or IPMI): power fencing by HA failover, and manual power actions");
  power.command('set')
    .description('Set the BMC of a host; HA failover then powers the host off when it is suspected (silent, lease not renewed)')
    .argument('<host>', 'host name or id')
    .addOption(new Option('--driver <driver>', 'how to reach the BMC').choices(POWER_DRIVERS).makeOptionMandatory())
    .requiredOption('--address <address>', 'redfish: https://BMC[:port] (or .../redfish/v1/Systems/ID); ipmi: BMC[:port]')
    .requiredOption('--user <user>', 'the BMC user')
    .option('--password-file <file>', "a file holding the BMC password ('-': stdin); left out on a change, the stored password is kept")
    .option('--insecure', "redfish over https: accept the BMC's self-signed certificate")
    .addHelpText('after', '\nExamples:\n  drover host power set h1 --driver redfish --address https://10.0.0.5 --user admin --password-file ~/.bmc-h1\n  drover host power set h2 --driver ipmi --address 10.0.0.6 --user ADMIN --password-file - < pw.txt')
    .action(action(io, setPower));
  power.command('show').description("Show a host's BMC settings (never the password)").argument('<host>', 'host name or id').action(action(io, showPower));
  power.command('remove').description("Remove a host's BMC settings: no more power fencing of it").argument('<host>', 'host name or id').action(action(io, removePower));
  power.command('status').description("Ask a host's BMC whether the machine is on").argument('<host>', 'host name or id').action(action(io, powerStatus));
  power.command('off').description('Power a host off hard through its BMC (refused while VMs are placed on it, unless --force)')
    .argument('<host>', 'host name or id')
    .option('--force', 'power off even though VMs are placed on the host: they die with it')
    .action(action(io, powerOff));
  power.command('on').description('Power a host on through its BMC').argument('<host>', 'host name or id').action(action(io, powerOn));
}

function checkHost(name: string): void {
  if (!name.trim()) throw new UsageError('HOST is empty', 'HOST', 'a host name or id (see: drover host list)');
}

/** The password in the file (or stdin for '-'), without its final line break. */
async function readPassword(io: CliIo, file: string): Promise<string> {
  let text: string;
  try {
    text = file === '-' ? await readAll(io.stdin) : readFileSync(resolve(io.cwd, file), 'utf8');
  } catch (err) {
    throw new UsageError(`cannot read the password file ${file}: ${(err as Error).message}`, '--password-file');
  }
  const password = text.replace(/\r?\n$/, '');
  if (!password) throw new UsageError(`the password file ${file} is empty`, '--password-file', 'a file whose first line is the BMC password');
  return password;
}

async function readAll(stream: NodeJS.ReadableStream): Promise<string> {
  let text = '';
  for await (const chunk of stream) text += String(chunk);
  return text;
}

async function setPower(ctx: Ctx, opts: SetOptions, name: string): Promise<void> {
  checkHost(name);
  const body: HostPowerRequest = { driver: opts.driver, address: opts.address, username: opts.user, ...(opts.insecure ? { insecure: true } : {}) };
  if (opts.passwordFile !== undefined) body.password = await readPassword(ctx.io, opts.passwordFile);
  const s = await ctx.client().call('setHostPower', { params: { name }, body });
  if (ctx.json) return printJson(ctx.io.stdout, s);
  writeLine(ctx.io.stdout, `Host ${s.host}: BMC set (${s.driver} ${s.address}); power fencing ${fencingText(s)}`);
}

function fencingText(s: HostPowerSettings): string {
  return s.fencing.on ? 'on' : `off (${s.fencing.reason ?? 'unknown reason'})`;
}

export function renderPower(s: HostPowerSettings): string {
  return renderFields([
    ['Host', s.host],
    ['Driver', s.driver],
    ['Address', s.address],
    ['User', s.username],
    ['Password', s.passwordSet ? 'set (never shown)' : 'not set'],
    ['Certificate', s.driver !== 'redfish' ? undefined : s.insecure ? 'not checked (--insecure)' : 'checked'],
    ['Power fencing', fencingText(s)],
    ['Updated', s.updatedAt],
  ]);
}

async function showPower(ctx: Ctx, _opts: object, name: string): Promise<void> {
  checkHost(name);
  const s = await ctx.client().call('getHostPower', { params: { name } });
  if (ctx.json) return printJson(ctx.io.stdout, s);
  writeLine(ctx.io.stdout, renderPower(s));
}

async function removePower(ctx: Ctx, _opts: object, name: string): Promise<void> {
  checkHost(name);
  const s = await ctx.client().call('deleteHostPower', { params: { name } });
  if (ctx.json) return printJson(ctx.io.stdout, s);
  writeLine(ctx.io.stdout, `Host ${s.host}: BMC settings removed (${s.driver} ${s.address}); failover of it waits for its lease to expire`);
}

function printState(ctx: Ctx, r: HostPowerState): void {
  if (ctx.json) return printJson(ctx.io.stdout, r);
  writeLine(ctx.io.stdout, r.message);
}

async function powerStatus(ctx: Ctx, _opts: object, name: string): Promise<void> {
  checkHost(name);
  printState(ctx, await ctx.client().call('hostPowerStatus', { params: { name } }));
}

async function powerOff(ctx: Ctx, opts: { force?: boolean }, name: string): Promise<void> {
  checkHost(name);
  printState(ctx, await ctx.client().call('hostPowerOff', { params: { name }, body: opts.force ? { force: true } : {} }));
}

async function powerOn(ctx: Ctx, _opts: object, name: string): Promise<void> {
  checkHost(name);
  printState(ctx, await ctx.client().call('hostPowerOn', { params: { name }, body: {} }));
}
