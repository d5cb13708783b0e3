// A host's BMC through the API of a real controller (real SQLite, real
// HTTP): PUT/GET/DELETE /v1/hosts/:name/power with their validation (each
// refusal names its field), the password write-only and sealed in the store,
// and the manual actions (status, off, on) against a Redfish BMC on
// 127.0.0.1 reached by the real driver.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { HostPowerRequest } from '../api/power.js';
import type { DroverEvent } from '../api/resources.js';
import { powerDriverFactory } from '../host/power/drivers.js';
import { FakeRedfishBmc } from '../host/power/test-support/redfish-bmc.js';
import { openSecret, sealSecret } from './secrets.js';
import { startTestBed, type TestBed } from './test-support/harness.js';

const PASSWORD = 'Sup3r-Secret-BMC-pw';

describe('host power settings and actions', () => {
  let bed: TestBed;
  let bmc: FakeRedfishBmc;
  let other: FakeRedfishBmc;
  const events: DroverEvent[] = [];
  const put = (body: Partial<HostPowerRequest>, name = 'h1') => bed.client.call('setHostPower', { params: { name }, body: body as HostPowerRequest });
  const errorOf = <T>(p: Promise<T>) => p.then(() => undefined, (e: unknown) => e as Error & { code: string; field?: string; allowed?: string });
  const redfish = (over: Partial<HostPowerRequest> = {}): Partial<HostPowerRequest> => ({ driver: 'redfish', address: bmc.url, username: bmc.username, password: PASSWORD, ...over });

  beforeAll(async () => {
    bmc = await new FakeRedfishBmc({ password: PASSWORD }).start();
    other = await new FakeRedfishBmc({ password: PASSWORD }).start();
    bed = await startTestBed({ options: { powerDrivers: powerDriverFactory({ timeoutMs: 1000, retries: 0, retryDelayMs: 10 }) } });
    bed.ctl.ctx.state.events.subscribe((e) => events.push(e));
    bed.agent.converge();
  });
  afterAll(async () => {
    await bed?.stop();
    await bmc?.stop();
    await other?.stop();
  });

  it('refuses bad settings, naming the field, and stores nothing', async () => {
    const cases: Array<[Partial<HostPowerRequest>, string, RegExp]> = [
      [{ ...redfish(), driver: 'smoke' as 'ipmi' }, 'driver', /^driver must be one of: redfish, ipmi$/],
      [{ driver: 'redfish', address: bmc.url, password: PASSWORD }, 'username', /^username is required$/],
      [redfish({ address: 'ftp://bmc' }), 'address', /^address: a redfish address is http:\/\/ or https:\/\/, not ftp:$/],
      [redfish({ address: 'https://root:calvin@bmc' }), 'address', /put no credentials in the URL/],
      [redfish({ address: 'https://bmc/cgi-bin/x' }), 'address', /is not a Redfish system \(\/redfish\/v1\/Systems\/ID\)/],
      [redfish({ address: 'bmc.example' }), 'address', /is not a URL/],
      [redfish({ password: undefined }), 'password', /^password: is required: the BMC password/],
      [redfish({ password: 'two\nlines' }), 'password', /without control characters or line breaks/],
      [redfish({ insecure: true }), 'insecure', /applies only to a redfish address over https/],
      [{ driver: 'ipmi', address: 'https://bmc', username: 'admin', password: 'x' }, 'address', /an ipmi address is a host, not a URL/],
      [{ driver: 'ipmi', address: '-oProxyCommand=x', username: 'admin', password: 'x' }, 'address', /is not a host name or address/],
      [{ driver: 'ipmi', address: 'bmc:70000', username: 'admin', password: 'x' }, 'address', /is not a host name or address/],
      [{ driver: 'ipmi', address: 'bmc', username: 'a-very-long-user-name', password: 'x' }, 'username', /IPMI allows 16/],
      [{ driver: 'ipmi', address: 'bmc', username: 'admin', password: 'p'.repeat(21) }, 'password', /IPMI allows 20/],
    ];
    for (const [body, field, message] of cases) {
      const err = await errorOf(put(body));
      expect(err, JSON.stringify(body)).toMatchObject({ code: 'invalid', field });
      expect(err?.message, JSON.stringify(body)).toMatch(message);
    }
    expect(await errorOf(put(redfish(), 'nope'))).toMatchObject({ code: 'not_found', field: 'name' });
    expect(await errorOf(bed.client.call('getHostPower', { params: { name: 'h1' } }))).toMatchObject({ code: 'not_found', message: expect.stringMatching(/^host h1 has no BMC set; set one: drover host power set h1 /) });
    expect(events.filter((e) => e.kind === 'host.power')).toEqual([]);
  });

  it('stores the settings with the password sealed, and never returns it', async () => {
    const set = await put(redfish({ address: `${bmc.url}/` }));
    expect(set).toEqual({
      host: 'h1', driver: 'redfish', address: bmc.url, username: 'admin', insecure: false, passwordSet: true,
      fencing: { on: false, reason: expect.stringMatching(/^HA failover is off/) }, createdAt: expect.any(String), updatedAt: expect.any(String),
    });
    const shown = await bed.client.call('getHostPower', { params: { name: 'h1' } });
    expect(shown).toEqual(set);
    expect(JSON.stringify([shown, await bed.client.call('listHosts'), await bed.client.call('getHost', { params: { name: 'h1' } })])).not.toContain(PASSWORD);
    // Not in the database in clear (the file and its write-ahead log).
    const db = join(bed.stateDir, 'drover.db');
    const bytes = [db, `${db}-wal`].filter(existsSync).map((f) => readFileSync(f).toString('latin1')).join('');
    expect(bytes).toContain(bmc.url);
    expect(bytes).not.toContain(PASSWORD);
    expect(events.filter((e) => e.kind === 'host.power').map((e) => e.message)).toEqual([
      `host h1: BMC set: redfish ${bmc.url} (user admin); power fencing off: HA failover is off (the controller runs without --shared-pool): manual power actions only`,
    ]);
    expect(JSON.stringify(events)).not.toContain(PASSWORD);
  });

  it('keeps the stored password when a change gives none', async () => {
    await put({ driver: 'redfish', address: other.url, username: other.username });
    expect((await bed.client.call('getHostPower', { params: { name: 'h1' } })).address).toBe(other.url);
    expect(await bed.client.call('hostPowerStatus', { params: { name: 'h1' } })).toMatchObject({ state: 'on' });
    expect(other.requests.every((r) => r.authorized)).toBe(true);
    await put(redfish());
  });

  it('reads, and switches the power on request; powering off a host with VMs needs force', async () => {
    expect(await bed.client.call('hostPowerStatus', { params: { name: 'h1' } })).toEqual({ host: 'h1', driver: 'redfish', address: bmc.url, state: 'on', message: `host h1 is powered on (redfish ${bmc.url})` });
    const { job } = await bed.client.call('createVm', { body: { name: 'web', image: 'tiny', host: 'h1' } });
    await bed.client.waitJob(job.id, undefined, 20);
    const refused = await errorOf(bed.client.call('hostPowerOff', { params: { name: 'h1' }, body: {} }));
    expect(refused).toMatchObject({ code: 'conflict', field: 'force', message: expect.stringMatching(/^host h1 has 1 VM\(s\) placed on it \(web\): powering it off kills them;/) });
    expect(bmc.resets()).toEqual([]);
    expect(await bed.client.call('hostPowerOff', { params: { name: 'h1' }, body: { force: true } })).toMatchObject({ state: 'off' });
    expect(bmc.power.get('1')).toBe('Off');
    expect(await bed.client.call('hostPowerOn', { params: { name: 'h1' }, body: {} })).toMatchObject({ state: 'on' });
    expect(bmc.resets()).toEqual(['ForceOff', 'On']);
    expect(events.filter((e) => e.kind === 'host.power').slice(-2).map((e) => e.message)).toEqual([
      expect.stringMatching(/^host h1: powered off through its BMC \(redfish .*\) on an admin's request; it now says off$/),
      expect.stringMatching(/^host h1: powered on through its BMC .* it now says on$/),
    ]);
  });

  it('answers unavailable, naming the host and the BMC, when the BMC fails', async () => {
    bmc.power.set('1', 'Off'); // (a refused On of a machine that is on already counts as done)
    bmc.refuseResets = 500;
    const err = await errorOf(bed.client.call('hostPowerOn', { params: { name: 'h1' }, body: {} }));
    bmc.refuseResets = undefined;
    bmc.power.set('1', 'On');
    expect(err).toMatchObject({ code: 'unavailable', message: `host h1, BMC redfish ${bmc.url}: power on failed: POST /redfish/v1/Systems/1/Actions/ComputerSystem.Reset: HTTP 500: The BMC could not complete the reset.` });
  });

  it('removes the settings', async () => {
    expect(await bed.client.call('deleteHostPower', { params: { name: 'h1' } })).toMatchObject({ host: 'h1', address: bmc.url });
    expect(await errorOf(bed.client.call('getHostPower', { params: { name: 'h1' } }))).toMatchObject({ code: 'not_found' });
    expect(await errorOf(bed.client.call('hostPowerStatus', { params: { name: 'h1' } }))).toMatchObject({ code: 'not_found' });
    expect(await errorOf(bed.client.call('deleteHostPower', { params: { name: 'h1' } }))).toMatchObject({ code: 'not_found' });
    expect(events.at(-1)?.message).toBe(`host h1: BMC settings removed (redfish ${bmc.url}): no power fencing of it any more`);
  });
});

describe('sealed secrets', () => {
  it('open only with the key and the context they were sealed with', () => {
    const sealed = sealSecret('key-1', PASSWORD, 'host-power:a');
    expect(sealed).not.toContain(PASSWORD);
    expect(sealSecret('key-1', PASSWORD, 'host-power:a')).not.toBe(sealed); // a new IV each time
    expect(openSecret('key-1', sealed, 'host-power:a')).toBe(PASSWORD);
    expect(() => openSecret('key-2', sealed, 'host-power:a')).toThrow();
    expect(() => openSecret('key-1', sealed, 'host-power:b')).toThrow();
    expect(() => openSecret('key-1', 'plain', 'host-power:a')).toThrow(/not a sealed secret/);
  });
});
