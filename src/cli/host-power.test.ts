// `drover host power ...` in-process against the fake controller: the
// request each command sends (the password from a file or stdin, never
// from argv), what it prints, and its usage errors.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import type { HostPowerSettings } from '../api/power.js';
import { FakeApi, reply, useFakeApi } from './test-support/fake-api.js';
import { run } from './test-support/samples.js';

const SETTINGS: HostPowerSettings = {
  host: 'h1', driver: 'redfish', address: 'https://10.0.0.5', username: 'admin', insecure: true, passwordSet: true,
  fencing: { on: true }, createdAt: '2026-01-01T00:00:00.000Z', updatedAt: '2026-01-02T00:00:00.000Z',
};

describe('drover host power', () => {
  let api: FakeApi;
  let env: Record<string, string>;
  const dir = mkdtempSync(join(tmpdir(), 'drover-cli-pw-'));
  writeFileSync(join(dir, 'pw'), 's3cret\n');
  writeFileSync(join(dir, 'empty'), '');
  useFakeApi((a, e) => ([api, env] = [a, e]));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  beforeEach(() => {
    api.on('setHostPower', () => SETTINGS);
    api.on('getHostPower', () => SETTINGS);
    api.on('deleteHostPower', () => SETTINGS);
    api.on('hostPowerStatus', () => ({ host: 'h1', driver: 'redfish', address: 'https://10.0.0.5', state: 'on', message: 'host h1 is powered on (redfish https://10.0.0.5)' }));
    api.on('hostPowerOff', () => ({ host: 'h1', driver: 'redfish', address: 'https://10.0.0.5', state: 'off', message: 'host h1 powered off (hard) through redfish https://10.0.0.5; the BMC says off' }));
    api.on('hostPowerOn', () => ({ host: 'h1', driver: 'redfish', address: 'https://10.0.0.5', state: 'on', message: 'host h1 powered on' }));
  });

  it('sets the BMC with the password read from a file, relative to the working dir', async () => {
    const r = await run(['host', 'power', 'set', 'h1', '--driver', 'redfish', '--address', 'https://10.0.0.5', '--user', 'admin', '--password-file', 'pw', '--insecure'], { env, cwd: dir });
    expect(r.code, r.stderr).toBe(0);
    expect(api.requests.map((q) => [q.route, q.method, q.path, q.body])).toEqual([
      ['setHostPower', 'PUT', '/v1/hosts/h1/power', { driver: 'redfish', address: 'https://10.0.0.5', username: 'admin', password: 's3cret', insecure: true }],
    ]);
    expect(r.stdout).toBe('Host h1: BMC set (redfish https://10.0.0.5); power fencing on\n');
  });

  it('reads the password from stdin with -, and sends none without --password-file (the stored one is kept)', async () => {
    const stdin = new PassThrough();
    stdin.end('from-stdin\n');
    expect((await run(['host', 'power', 'set', 'h2', '--driver', 'ipmi', '--address', '10.0.0.6', '--user', 'ADMIN', '--password-file', '-'], { env, stdin })).code).toBe(0);
    expect(api.requests[0]?.body).toEqual({ driver: 'ipmi', address: '10.0.0.6', username: 'ADMIN', password: 'from-stdin' });
    expect((await run(['host', 'power', 'set', 'h2', '--driver', 'ipmi', '--address', '10.0.0.7', '--user', 'ADMIN'], { env })).code).toBe(0);
    expect(api.requests[1]?.body).toEqual({ driver: 'ipmi', address: '10.0.0.7', username: 'ADMIN' });
  });

  it('refuses bad usage before sending anything (exit 2), naming the option', async () => {
    const driver = await run(['host', 'power', 'set', 'h1', '--driver', 'wol', '--address', 'x', '--user', 'u'], { env });
    expect(driver.code).toBe(2);
    expect(driver.stderr).toContain("option '--driver <driver>' argument 'wol' is invalid. Allowed choices are redfish, ipmi.");
    const missing = await run(['host', 'power', 'set', 'h1', '--driver', 'redfish', '--user', 'u'], { env });
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain("required option '--address <address>' not specified");
    const noFile = await run(['host', 'power', 'set', 'h1', '--driver', 'redfish', '--address', 'https://b', '--user', 'u', '--password-file', 'nope'], { env, cwd: dir });
    expect(noFile.code).toBe(2);
    expect(noFile.stderr).toMatch(/^error: cannot read the password file nope: ENOENT.*\n {2}field: --password-file\n$/);
    const empty = await run(['host', 'power', 'set', 'h1', '--driver', 'redfish', '--address', 'https://b', '--user', 'u', '--password-file', 'empty'], { env, cwd: dir });
    expect(empty.stderr).toContain('error: the password file empty is empty');
    expect(api.count()).toBe(0);
  });

  it('prints the controller\'s refusal with its field (exit 1)', async () => {
    api.on('setHostPower', () => reply(400, { error: { code: 'invalid', message: 'address: a redfish address is http:// or https://, not ftp:', field: 'address' } }));
    const r = await run(['host', 'power', 'set', 'h1', '--driver', 'redfish', '--address', 'ftp://b', '--user', 'u', '--password-file', 'pw'], { env, cwd: dir });
    expect(r.code).toBe(1);
    expect(r.stderr).toBe('error: address: a redfish address is http:// or https://, not ftp:\n  field: address\n');
  });

  it('shows the settings without a password, and removes them', async () => {
    const r = await run(['host', 'power', 'show', 'h1'], { env });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^Host:\s+h1\nDriver:\s+redfish\nAddress:\s+https:\/\/10\.0\.0\.5\nUser:\s+admin\nPassword:\s+set \(never shown\)\nCertificate:\s+not checked \(--insecure\)\nPower fencing:\s+on\nUpdated:\s+2026-01-02T00:00:00.000Z\n$/);
    const json = await run(['host', 'power', 'show', 'h1', '--json'], { env });
    expect(JSON.parse(json.stdout)).toEqual(SETTINGS);
    const rm = await run(['host', 'power', 'remove', 'h1'], { env });
    expect(rm.stdout).toBe('Host h1: BMC settings removed (redfish https://10.0.0.5); failover of it waits for its lease to expire\n');
    expect(api.requests.map((q) => [q.route, q.method])).toEqual([['getHostPower', 'GET'], ['getHostPower', 'GET'], ['deleteHostPower', 'DELETE']]);
  });

  it('asks for the power state, and switches it (off only with --force sends force)', async () => {
    expect((await run(['host', 'power', 'status', 'h1'], { env })).stdout).toBe('host h1 is powered on (redfish https://10.0.0.5)\n');
    expect((await run(['host', 'power', 'off', 'h1'], { env })).stdout).toMatch(/^host h1 powered off \(hard\)/);
    await run(['host', 'power', 'off', 'h1', '--force'], { env });
    await run(['host', 'power', 'on', 'h1'], { env });
    expect(api.requests.map((q) => [q.route, q.method, q.body])).toEqual([
      ['hostPowerStatus', 'GET', undefined], ['hostPowerOff', 'POST', {}], ['hostPowerOff', 'POST', { force: true }], ['hostPowerOn', 'POST', {}],
    ]);
  });
});
