import { spawn } from 'node:child_process';

export interface CommandResult {
  stdout: string;
  stderr: string;
}

export interface RunOptions {
  cwd?: string;
  /** Bytes fed to the child's stdin (stdin is closed otherwise). */
  input?: string | Buffer;
  env?: NodeJS.ProcessEnv;
}

/** Thrown when a command cannot start or exits non-zero. */
export class CommandError extends Error {
  constructor(
    public command: string,
    public exitCode: number | null,
    public stderr: string,
    message: string,
  ) {
    super(message);
    this.name = 'CommandError';
  }
}

/** Debian packages of the tools this folder runs, for "not installed" errors. */
const PACKAGE_OF: Record<string, string> = {
  cpio: 'cpio',
  gzip: 'gzip',
  xz: 'xz-utils',
  zstd: 'zstd',
  'dpkg-deb': 'dpkg',
  'apt-get': 'apt',
  'apt-cache': 'apt',
  'qemu-img': 'qemu-utils',
  'qemu-system-x86_64': 'qemu-system-x86',
  ip: 'iproute2',
};

function packageHint(cmd: string): string {
  const pkg = PACKAGE_OF[cmd];
  return pkg ? ` (install the Debian package ${pkg}: apt-get install ${pkg})` : ' (not found on PATH)';
}

/**
 * Runs a program with an argv array (never through a shell) and resolves
 * with its output, or rejects with a CommandError that quotes stderr.
 */
export function runCommand(cmd: string, args: readonly string[], opts: RunOptions = {}): Promise<CommandResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, {
      cwd: opts.cwd,
      env: opts.env ?? process.env,
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout?.on('data', (b: Buffer) => out.push(b));
    child.stderr?.on('data', (b: Buffer) => err.push(b));
    child.stdin?.on('error', () => undefined); // the child may exit before reading
    child.stdin?.end(opts.input);
    child.on('error', (e: NodeJS.ErrnoException) => {
      const why = e.code === 'ENOENT' ? `${cmd} is not installed${packageHint(cmd)}` : `cannot run ${cmd}: ${e.message}`;
      reject(new CommandError(cmd, null, '', why));
    });
    child.on('close', (code) => {
      const stdout = Buffer.concat(out).toString('utf8');
      const stderr = Buffer.concat(err).toString('utf8');
      if (code === 0) return resolve({ stdout, stderr });
      const tail = stderr.trim().split('\n').slice(-5).join('\n');
      reject(new CommandError(cmd, code, stderr, `${cmd} ${args.join(' ')} exited with ${code}: ${tail}`));
    });
  });
}

