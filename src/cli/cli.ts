// The `drover` command tree and its exit codes: 0 success, 1 an API (or
// connection) error, 2 a usage error. `runCli` runs one command in-process
// with injected I/O, so tests need not spawn.
import { Command, CommanderError } from 'commander';
import { automationCommand, recommendationsCommand } from './commands/automation.js';
import { eventsCommand } from './commands/events.js';
import { groupCommand } from './commands/group.js';
import { hostCommand } from './commands/host.js';
import { imageCommand } from './commands/image.js';
import { jobCommand } from './commands/job.js';
import { migrationCommand } from './commands/migration.js';
import { planCommand, snapshotCommand } from './commands/plan.js';
import { poolCommand } from './commands/pool.js';
import { resourcePoolCommand } from './commands/resource-pool.js';
import { simCommand } from './commands/sim.js';
import { testbedCommand } from './commands/testbed.js';
import { vmCommand } from './commands/vm.js';
import { processIo, type CliIo } from './io.js';
import { EXIT, printError } from './output.js';

export const VERSION = '0.1.0';

const EXAMPLES = `
Examples:
  drover vm create web --image tiny --cpus 2 --memory 256 --disk 1G --port 8080:80
  drover vm list --json
  drover vm console web        (detach with Ctrl-])
  drover image build tiny

Exit codes: 0 success, 1 API or connection error, 2 usage error.`;

export function buildProgram(io: CliIo): Command {
  const program = new Command('drover')
    .description('Drover: a pool of Linux hosts that runs QEMU/KVM virtual machines')
    .version(VERSION, '-V, --version')
    .option('--url <url>', 'controller URL (else $DROVER_URL, else ~/.config/drover/config.json)')
    .option('--token <token>', 'API token (else $DROVER_TOKEN, else the config file)')
    .option('--json', 'print machine-readable JSON instead of tables')
    .configureHelp({ showGlobalOptions: true })
    .configureOutput({
      writeOut: (s) => io.stdout.write(s),
      writeErr: (s) => io.stderr.write(s),
      outputError: (s, write) => write(s),
    })
    .addHelpText('after', EXAMPLES)
    .showHelpAfterError('(run with --help for usage)')
    .showSuggestionAfterError(true)
    .exitOverride();
  for (const sub of [vmCommand(io), hostCommand(io), imageCommand(io), jobCommand(io), eventsCommand(io)]) {
    program.addCommand(inheritSettings(sub, program));
  }
  program.addCommand(inheritSettings(groupCommand(io), program));
  program.addCommand(inheritSettings(migrationCommand(io), program));
  program.addCommand(inheritSettings(testbedCommand(io), program));
  program.addCommand(inheritSettings(poolCommand(io), program));
  program.addCommand(inheritSettings(resourcePoolCommand(io), program));
  program.addCommand(inheritSettings(simCommand(io), program));
  program.addCommand(inheritSettings(planCommand(io), program));
  program.addCommand(inheritSettings(snapshotCommand(io), program));
  program.addCommand(inheritSettings(automationCommand(io), program));
  program.addCommand(inheritSettings(recommendationsCommand(io), program));
  return program;
}

/** addCommand does not copy the parent's output and exit settings; do it for the whole subtree. */
function inheritSettings(cmd: Command, parent: Command): Command {
  cmd.copyInheritedSettings(parent);
  for (const sub of cmd.commands) inheritSettings(sub, cmd);
  return cmd;
}

/** Runs `drover <argv>` and returns (and reports to io.exit) its exit code. */
export async function runCli(argv: string[], io: CliIo = processIo()): Promise<number> {
  const code = await runProgram(argv, io);
  io.exit?.(code);
  return code;
}

async function runProgram(argv: string[], io: CliIo): Promise<number> {
  try {
    await buildProgram(io).parseAsync(argv, { from: 'user' });
    return EXIT.ok;
  } catch (err) {
    if (err instanceof CommanderError) return commanderExit(err);
    return printError(io.stderr, err);
  }
}

/** Commander has printed its message already; help and version asked for are a success. */
function commanderExit(err: CommanderError): number {
  if (err.code === 'commander.helpDisplayed' || err.code === 'commander.version') return EXIT.ok;
  return EXIT.usage;
}
