// Entry point of `bin/drover`: runs the command and exits with its code once
// the output is written (sockets or stdin left open must not keep us alive).
import { runCli } from './cli.js';
import { processIo } from './io.js';

// `drover vm list | head -1`: a closed pipe ends us quietly.
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (err: NodeJS.ErrnoException) => process.exit(err.code === 'EPIPE' ? 0 : 1));
}

const code = await runCli(process.argv.slice(2), processIo());
process.stdout.write('', () => process.stderr.write('', () => process.exit(code)));
