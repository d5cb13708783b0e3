// Runs bin/drover as a user would, against a test cluster.
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { REPO } from './harness.js';

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

export function drover(url: string, token: string, args: string[], input?: string, timeoutMs = 120_000): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(join(REPO, 'bin', 'drover'), args, {
      env: { ...process.env, DROVER_URL: url, DROVER_TOKEN: token },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`drover ${args.join(' ')} timed out:\n${stdout}\n${stderr}`));
    }, timeoutMs);
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve({ code: code ?? -1, stdout, stderr });
    });
    if (input !== undefined) child.stdin.end(input);
    else child.stdin.end();
  });
}
