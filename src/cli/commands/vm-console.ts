// `drover vm console NAME`: the VM's serial console over the controller's
// WebSocket. On a terminal it runs in raw mode (keys go to the guest as
// typed) until Ctrl-] detaches. With piped input it sends the input, and
// after Ctrl-] or the end of input waits for the output to go quiet.
import type { Command } from 'commander';
import WebSocket from 'ws';
import { ApiError, ErrorCode } from '../../api/errors.js';
import { action, type Ctx } from '../context.js';
import { writeLine, type CliIo } from '../io.js';
import { closed, isNormalClose, openSocket } from '../ws.js';

export const DETACH_BYTE = 0x1d; // Ctrl-]
/** Piped input: after detaching, wait until the guest has printed nothing for this long... */
export const QUIET_MS = 2000;
/** ...but no longer than this. */
const MAX_DRAIN_MS = 20_000;

export function registerVmConsole(vm: Command, io: CliIo): void {
  vm.command('console')
    .description('Attach to the serial console (Ctrl-] detaches)')
    .argument('<name>', 'VM name or id')
    .action(action(io, attach));
}

async function attach(ctx: Ctx, _opts: object, name: string): Promise<void> {
  const output = new ConsoleOutput(ctx.io);
  const ws = await openSocket(ctx.client().wsUrl('console', { name }), { signal: ctx.io.signal, onMessage: (d) => output.receive(d) });
  writeLine(ctx.io.stderr, `Connected to ${name}'s serial console. Detach with Ctrl-]`);
  output.start();
  const how = await new ConsoleSession(ctx.io, ws, output).run();
  if (how === 'detached') writeLine(ctx.io.stderr, `\r\nDetached from ${name}.`);
}

/** The guest's output: held back until the banner is printed, then written as it comes. */
class ConsoleOutput {
  lastAt = Date.now();
  private pending: Buffer[] | undefined = [];

  constructor(private readonly io: CliIo) {}

  receive(data: Buffer): void {
    this.lastAt = Date.now();
    if (this.pending) this.pending.push(data);
    else this.io.stdout.write(data);
  }

  start(): void {
    for (const data of this.pending ?? []) this.io.stdout.write(data);
    this.pending = undefined;
  }
}

type End = 'detached' | 'closed';

/** Keys from stdin to the guest until Ctrl-], end of input or abort; then a clean close. */
class ConsoleSession {
  private readonly tty: boolean;
  private detachedAt: number | undefined;
  private drain: NodeJS.Timeout | undefined;
  private readonly onInput = (chunk: Buffer | string) => this.input(typeof chunk === 'string' ? Buffer.from(chunk) : chunk);
  private readonly onDetach = () => this.detach();

  constructor(
    private readonly io: CliIo,
    private readonly ws: WebSocket,
    private readonly output: ConsoleOutput,
  ) {
    this.tty = io.stdin.isTTY === true && typeof io.stdin.setRawMode === 'function';
  }

  async run(): Promise<End> {
    const { stdin, signal } = this.io;
    stdin.on('data', this.onInput);
    stdin.on('end', this.onDetach);
    signal?.addEventListener('abort', this.onDetach, { once: true });
    if (this.tty) stdin.setRawMode!(true);
    stdin.resume();
    try {
      const { code, reason } = await closed(this.ws);
      return this.ended(code, reason);
    } finally {
      this.cleanup();
    }
  }

  private input(buf: Buffer): void {
    if (this.detachedAt !== undefined) return;
    const at = buf.indexOf(DETACH_BYTE);
    const keys = at >= 0 ? buf.subarray(0, at) : buf;
    if (keys.length > 0 && this.ws.readyState === WebSocket.OPEN) this.ws.send(keys, { binary: true });
    if (at >= 0) this.detach();
  }

  /** On a terminal at once; with piped input once the guest's output has gone quiet. */
  private detach(): void {
    if (this.detachedAt !== undefined) return;
    const at = (this.detachedAt = Date.now());
    if (this.tty) return closeSocket(this.ws);
    this.drain = setInterval(() => {
      const now = Date.now();
      if (now - Math.max(this.output.lastAt, at) >= QUIET_MS || now - at >= MAX_DRAIN_MS) closeSocket(this.ws);
    }, 100);
  }

  private ended(code: number, reason: string): End {
    if (this.detachedAt !== undefined) return 'detached';
    const why = reason ? `: ${reason}` : '';
    if (!isNormalClose(code)) throw new ApiError(ErrorCode.unavailable, `the console connection closed (code ${code}${why})`);
    writeLine(this.io.stderr, `\r\nConsole closed${why}.`);
    return 'closed';
  }

  private cleanup(): void {
    const { stdin, signal } = this.io;
    if (this.drain) clearInterval(this.drain);
    signal?.removeEventListener('abort', this.onDetach);
    stdin.off('data', this.onInput);
    stdin.off('end', this.onDetach);
    if (this.tty) stdin.setRawMode!(false);
    stdin.pause();
  }
}

/** A clean close, and a hard one if the other side does not answer it. */
function closeSocket(ws: WebSocket): void {
  if (ws.readyState !== WebSocket.OPEN) return;
  ws.close(1000, 'detached');
  setTimeout(() => ws.terminate(), 2000).unref();
}
