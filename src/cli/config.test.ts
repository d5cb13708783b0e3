import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { configPath, NO_CONFIG, resolveConfig } from './config.js';

describe('resolveConfig', () => {
  const home = mkdtempSync(join(tmpdir(), 'drover-cli-home-'));
  const file = configPath({}, home);
  mkdirSync(join(home, '.config', 'drover'), { recursive: true });
  afterAll(() => rmSync(home, { recursive: true, force: true }));

  it('prefers flags, then the environment, then the config file', () => {
    writeFileSync(file, JSON.stringify({ url: 'http://127.0.0.1:1', token: 'file' }));
    const env = { DROVER_URL: 'http://127.0.0.1:2', DROVER_TOKEN: 'env' };
    expect(resolveConfig({ flags: {}, env: {}, homeDir: home })).toEqual({ url: 'http://127.0.0.1:1', token: 'file' });
    expect(resolveConfig({ flags: {}, env, homeDir: home })).toEqual({ url: 'http://127.0.0.1:2', token: 'env' });
    expect(resolveConfig({ flags: { url: 'http://127.0.0.1:3', token: 'flag' }, env, homeDir: home })).toEqual({ url: 'http://127.0.0.1:3', token: 'flag' });
  });

  it('honours XDG_CONFIG_HOME', () => {
    expect(configPath({ XDG_CONFIG_HOME: '/x' }, home)).toBe('/x/drover/config.json');
  });

  it('says how to configure when nothing is set', () => {
    rmSync(file);
    expect(() => resolveConfig({ flags: {}, env: {}, homeDir: home })).toThrow(NO_CONFIG);
    expect(() => resolveConfig({ flags: { url: 'http://127.0.0.1:1' }, env: {}, homeDir: home })).toThrow(/no token/);
    expect(() => resolveConfig({ flags: { url: 'nonsense', token: 't' }, env: {}, homeDir: home })).toThrow(/not a URL/);
  });

  it('names a broken config file', () => {
    writeFileSync(file, '{url:');
    expect(() => resolveConfig({ flags: {}, env: {}, homeDir: home })).toThrow(`${file} is not valid JSON`);
  });
});
