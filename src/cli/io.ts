// The CLI's window on the world: its streams, environment and working dir.
// Injected, so tests run commands in-process and read what they print.
import { homedir } from 'node:os';

export type OutStream = NodeJS.WritableStream & { isTTY?: boolean; columns?: number };
export type InStream = NodeJS.ReadableStream & { isTTY?: boolean; setRawMode?: (raw: boolean) => unknown };

export interface CliIo {
  stdout: OutStream;
  stderr: OutStream;
  stdin: InStream;
  env: Record<string, string | undefined>;
  cwd: string;
  homeDir: string;
  /** Called once with the exit code when the command is over. */
  exit?: (code: number) => void;
  /** Ends long-running commands (events, logs --follow, console) early; for tests. */
  signal?: AbortSignal;
}

export function processIo(): CliIo {
  return {
    stdout: process.stdout,
    stderr: process.stderr,
    stdin: process.stdin,
    env: process.env,
    cwd: process.cwd(),
    homeDir: homedir(),
  };
}

export function write(stream: OutStream, text: string): void {
  stream.write(text);
}

export function writeLine(stream: OutStream, text = ''): void {
  stream.write(`${text}\n`);
}
