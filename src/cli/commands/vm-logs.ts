// `drover vm logs NAME [--bytes N] [--follow]`: the tail of the serial log;
// --follow then streams the console read-only (or polls the log when the
// console cannot be opened, e.g. while the VM has no host).
import type { Command } from 'commander';
import { ApiError, ErrorCode } from '../../api/errors.js';
import { action, type Ctx } from '../context.js';
import { write, writeLine, type CliIo } from '../io.js';
import { printJson } from '../output.js';
import { parseLogBytes } from '../parse.js';
import { closed, openSocket } from '../ws.js';

const POLL_MS = 1000;

interface LogsOptions {
  bytes?: string;
  follow?: boolean;
}

export function registerVmLogs(vm: Command, io: CliIo): void {
  vm.command('logs')
    .description('Print the tail of the serial console log')
    .argument('<name>', 'VM name or id')
    .option('--bytes <n>', 'how much of the tail, in bytes (1-1048576, default 65536)')
    .option('-f, --follow', 'keep printing new output (Ctrl-C to stop)')
    .action(action(io, showLogs));
}

async function showLogs(ctx: Ctx, opts: LogsOptions, name: string): Promise<void> {
  const bytes = opts.bytes === undefined ? undefined : parseLogBytes(opts.bytes);
  const { text } = await ctx.client().call('vmLogs', { params: { name }, query: bytes === undefined ? {} : { bytes } });
  emit(ctx, text);
  if (opts.follow) await follow(ctx, name, text);
}

function emit(ctx: Ctx, text: string): void {
  if (ctx.json) printJson(ctx.io.stdout, { text });
  else write(ctx.io.stdout, text);
}

async function follow(ctx: Ctx, name: string, tail: string): Promise<void> {
  let ws;
  try {
    ws = await openSocket(ctx.client().wsUrl('console', { name }), { signal: ctx.io.signal, onMessage: (data) => emit(ctx, data.toString()) });
  } catch (err) {
    if (ctx.io.signal?.aborted) return;
    if (err instanceof ApiError && (err.code === ErrorCode.notFound || err.code === ErrorCode.unauthorized)) throw err;
    return poll(ctx, name, tail);
  }
  const socket = ws;
  const onAbort = () => socket.close(1000);
  ctx.io.signal?.addEventListener('abort', onAbort, { once: true });
  const { code, reason } = await closed(socket);
  ctx.io.signal?.removeEventListener('abort', onAbort);
  if (!ctx.io.signal?.aborted) writeLine(ctx.io.stderr, `\n(console closed${reason ? `: ${reason}` : ''}, code ${code})`);
}

async function poll(ctx: Ctx, name: string, tail: string): Promise<void> {
  let last = tail;
  while (!ctx.io.signal?.aborted) {
    await sleep(POLL_MS, ctx.io.signal);
    if (ctx.io.signal?.aborted) return;
    const { text } = await ctx.client().call('vmLogs', { params: { name } });
    const fresh = newSuffix(last, text);
    if (fresh) emit(ctx, fresh);
    last = text;
  }
}

/** The part of `next` (a later tail of the same log) that follows what `prev` ended with. */
export function newSuffix(prev: string, next: string): string {
  if (next.startsWith(prev)) return next.slice(prev.length);
  // The window moved: find where prev's end sits in next, checking the whole overlap.
  const anchor = prev.slice(-256);
  let at = next.lastIndexOf(anchor);
  for (let tries = 0; at >= 0 && tries < 64; tries++) {
    const end = at + anchor.length;
    if (prev.endsWith(next.slice(0, end))) return next.slice(end);
    at = at === 0 ? -1 : next.lastIndexOf(anchor, at - 1);
  }
  return next;
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, ms);
    signal?.addEventListener('abort', () => {
      clearTimeout(timer);
      resolve();
    }, { once: true });
  });
}
