// Where the controller is and the token to use: --url/--token, else
// DROVER_URL/DROVER_TOKEN, else the config file `npm run up` writes.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { UsageError } from './output.js';

export interface CliConfig {
  url: string;
  token: string;
}

export interface ConfigSources {
  flags: { url?: string; token?: string };
  env: Record<string, string | undefined>;
  homeDir: string;
}

export const NO_CONFIG = 'no controller configured: run `npm run up`, or set DROVER_URL and DROVER_TOKEN';

export function configPath(env: Record<string, string | undefined>, homeDir: string): string {
  const base = env.XDG_CONFIG_HOME || join(homeDir, '.config');
  return join(base, 'drover', 'config.json');
}

export function resolveConfig(src: ConfigSources): CliConfig {
  const file = readConfigFile(configPath(src.env, src.homeDir));
  const url = src.flags.url || src.env.DROVER_URL || file?.url;
  const token = src.flags.token || src.env.DROVER_TOKEN || file?.token;
  if (!url && !token) throw new UsageError(NO_CONFIG);
  if (!url) throw new UsageError(`no controller URL: ${NO_CONFIG}`, '--url', 'http://ADDR:PORT, e.g. http://127.0.0.1:7480');
  if (!token) throw new UsageError(`no token for ${url}: pass --token or set DROVER_TOKEN (the admin token is in the controller's state dir, admin-token)`, '--token');
  return { url: checkUrl(url), token };
}

function checkUrl(url: string): string {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new UsageError(`"${url}" is not a URL`, '--url', 'http://ADDR:PORT, e.g. http://127.0.0.1:7480');
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
    throw new UsageError(`"${url}" is not an http(s) URL`, '--url', 'http://ADDR:PORT or https://ADDR:PORT');
  }
  return url;
}

function readConfigFile(path: string): Partial<CliConfig> | undefined {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new UsageError(`cannot read ${path}: ${(err as Error).message}`);
  }
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch {
    throw new UsageError(`${path} is not valid JSON; rewrite it with \`npm run up\` or remove it`);
  }
  const obj = (data ?? {}) as Record<string, unknown>;
  return {
    url: typeof obj.url === 'string' ? obj.url : undefined,
    token: typeof obj.token === 'string' ? obj.token : undefined,
  };
}
