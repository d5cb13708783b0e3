// `drover events`: follow the controller's event stream, one line per event
// (JSON lines with --json), until interrupted or the controller closes it.
import { Command } from 'commander';
import { ApiError, ErrorCode } from '../../api/errors.js';
import type { DroverEvent } from '../../api/resources.js';
import { action, type Ctx } from '../context.js';
import { writeLine, type CliIo } from '../io.js';
import { closed, openSocket } from '../ws.js';

export function eventsCommand(io: CliIo): Command {
  return new Command('events').description('Follow the event stream (Ctrl-C to stop)').action(action(io, followEvents));
}

async function followEvents(ctx: Ctx): Promise<void> {
  const onMessage = (data: Buffer) => writeLine(ctx.io.stdout, ctx.json ? data.toString() : formatEvent(data.toString()));
  const ws = await openSocket(ctx.client().wsUrl('events'), { signal: ctx.io.signal, onMessage });
  const onAbort = () => ws.close(1000);
  ctx.io.signal?.addEventListener('abort', onAbort, { once: true });
  const { code, reason } = await closed(ws);
  ctx.io.signal?.removeEventListener('abort', onAbort);
  if (ctx.io.signal?.aborted) return;
  throw new ApiError(ErrorCode.unavailable, `the controller closed the event stream (code ${code}${reason ? `: ${reason}` : ''})`);
}

function formatEvent(text: string): string {
  try {
    return eventLine(JSON.parse(text) as DroverEvent);
  } catch {
    return text;
  }
}

export function eventLine(e: DroverEvent): string {
  return `${e.at}  ${e.kind.padEnd(12)} ${e.message}`;
}
