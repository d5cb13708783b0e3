// What every command's action gets: the I/O, whether to print JSON, and the
// API client (built on first use, so help and usage errors need no config).
import type { Command } from 'commander';
import { DroverClient } from '../api/client.js';
import { resolveConfig } from './config.js';
import type { CliIo } from './io.js';

export interface GlobalOptions {
  json?: boolean;
  url?: string;
  token?: string;
}

export interface Ctx {
  io: CliIo;
  json: boolean;
  client(): DroverClient;
}

export function makeCtx(io: CliIo, opts: GlobalOptions): Ctx {
  let client: DroverClient | undefined;
  return {
    io,
    json: opts.json === true,
    client() {
      if (!client) {
        const cfg = resolveConfig({ flags: { url: opts.url, token: opts.token }, env: io.env, homeDir: io.homeDir });
        client = new DroverClient({ baseUrl: cfg.url, token: cfg.token });
      }
      return client;
    },
  };
}

/**
 * Adapts a handler to commander's action signature `(...positional, options, command)`:
 * the handler gets the context, the command's options merged with the global ones, then the positional arguments.
 */
export function action<O extends object, A extends unknown[]>(io: CliIo, fn: (ctx: Ctx, opts: O & GlobalOptions, ...args: A) => Promise<void>) {
  return async (...all: unknown[]): Promise<void> => {
    const cmd = all[all.length - 1] as Command;
    const opts = cmd.optsWithGlobals<O & GlobalOptions>();
    await fn(makeCtx(io, opts), opts, ...(all.slice(0, -2) as A));
  };
}
