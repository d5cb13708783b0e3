// RedfishDriver against a small Redfish BMC on 127.0.0.1 (test-support/
// redfish-bmc.ts): Basic auth, finding the system, PowerState, ForceOff and
// On, retries and timeouts, errors that name the host and the BMC, and a
// self-signed HTTPS BMC (refused unless insecure).
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { PowerTarget } from '../../core/power.js';
import { PowerDriverError } from './call-policy.js';
import { RedfishDriver } from './redfish.js';
import { FakeRedfishBmc } from './test-support/redfish-bmc.js';

const FAST = { timeoutMs: 2000, retries: 2, retryDelayMs: 10 };
const target = (bmc: FakeRedfishBmc, over: Partial<PowerTarget> = {}): PowerTarget => ({
  hostName: 'h1', driver: 'redfish', address: bmc.url, username: bmc.username, password: bmc.password, ...over,
});
const failure = (p: Promise<unknown>) => p.then(() => expect.fail('should have failed'), (e: unknown) => e as PowerDriverError);

describe('RedfishDriver', () => {
  let bmc: FakeRedfishBmc;
  beforeEach(async () => {
    bmc = await new FakeRedfishBmc().start();
  });
  afterEach(() => bmc.stop());

  it('reads PowerState, powers off with ForceOff and on with On, always with Basic auth', async () => {
    const d = new RedfishDriver(target(bmc), FAST);
    expect(await d.status()).toBe('on');
    await d.powerOff();
    expect(bmc.power.get('1')).toBe('Off');
    expect(await d.status()).toBe('off');
    await d.powerOn();
    expect(await d.status()).toBe('on');
    expect(bmc.resets()).toEqual(['ForceOff', 'On']);
    expect(bmc.requests.every((r) => r.authorized)).toBe(true);
    // The system was found once, through /redfish/v1/Systems, and its Reset action used.
    expect(bmc.requests.filter((r) => r.path === '/redfish/v1/Systems')).toHaveLength(1);
    expect(bmc.requests.filter((r) => r.method === 'POST').map((r) => r.path)).toEqual(Array(2).fill('/redfish/v1/Systems/1/Actions/ComputerSystem.Reset'));
    await d.close();
  });

  it('refuses a wrong password at once (no retry), naming the host and the BMC', async () => {
    const err = await failure(new RedfishDriver(target(bmc, { password: 'wrong' }), FAST).powerOff());
    expect(err).toBeInstanceOf(PowerDriverError);
    expect(err.message).toBe(`host h1, BMC redfish ${bmc.url}: power off (ForceOff) failed: GET /redfish/v1/Systems: HTTP 401: the BMC refused the user or password`);
    expect(bmc.requests).toHaveLength(1);
    expect(bmc.power.get('1')).toBe('On');
  });

  it('retries a refused reset, then fails with the BMC\'s own message', async () => {
    bmc.refuseResets = 500;
    const err = await failure(new RedfishDriver(target(bmc), FAST).powerOff());
    expect(err.attempts).toBe(3);
    expect(err.message).toMatch(new RegExp(`^host h1, BMC redfish ${bmc.url}: power off \\(ForceOff\\) failed \\(3 attempts\\): POST /redfish/v1/Systems/1/Actions/ComputerSystem.Reset: HTTP 500: The BMC could not complete the reset\\.$`));
    expect(bmc.resets()).toEqual(['ForceOff', 'ForceOff', 'ForceOff']);
    expect(bmc.power.get('1')).toBe('On');
  });

  it('takes a refused ForceOff of a machine that is off already as done', async () => {
    bmc.power.set('1', 'Off');
    bmc.refuseResets = 409;
    await new RedfishDriver(target(bmc), FAST).powerOff();
    expect(bmc.resets()).toEqual(['ForceOff']);
  });

  it('gives up on a BMC that does not answer in time, after its retries', async () => {
    bmc.delayMs = 400;
    const err = await failure(new RedfishDriver(target(bmc), { timeoutMs: 100, retries: 1, retryDelayMs: 10 }).status());
    expect(err.message).toBe(`host h1, BMC redfish ${bmc.url}: power status failed (2 attempts): no answer within 100 ms`);
  });

  it('names an unreachable BMC', async () => {
    await bmc.stop();
    const err = await failure(new RedfishDriver(target(bmc), { ...FAST, retries: 0 }).status());
    expect(err.message).toMatch(new RegExp(`^host h1, BMC redfish ${bmc.url}: power status failed: GET /redfish/v1/Systems: fetch failed.*ECONNREFUSED`));
    bmc = await new FakeRedfishBmc().start(); // for afterEach
  });
});

describe('RedfishDriver with a BMC of several systems', () => {
  let bmc: FakeRedfishBmc;
  beforeEach(async () => {
    bmc = await new FakeRedfishBmc({ systems: ['1', '2'] }).start();
  });
  afterEach(() => bmc.stop());

  it('asks for the system in the address, and then acts on that one only', async () => {
    const err = await failure(new RedfishDriver(target(bmc), FAST).status());
    expect(err.message).toContain(`the BMC has 2 systems (/redfish/v1/Systems/1, /redfish/v1/Systems/2): give the one of this host in the address, e.g. ${bmc.url}/redfish/v1/Systems/1`);
    expect(bmc.requests).toHaveLength(1); // not retried
    await new RedfishDriver(target(bmc, { address: `${bmc.url}/redfish/v1/Systems/2` }), FAST).powerOff();
    expect(Object.fromEntries(bmc.power)).toEqual({ 1: 'On', 2: 'Off' });
  });
});

function selfSignedCert(): { key: string; cert: string } | undefined {
  const dir = mkdtempSync(join(tmpdir(), 'drover-bmc-cert-'));
  try {
    execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem'),
      '-subj', '/CN=127.0.0.1', '-days', '2', '-addext', 'subjectAltName=IP:127.0.0.1'], { stdio: 'ignore' });
    return { key: readFileSync(join(dir, 'key.pem'), 'utf8'), cert: readFileSync(join(dir, 'cert.pem'), 'utf8') };
  } catch {
    return undefined;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

describe('RedfishDriver over HTTPS with a self-signed certificate', () => {
  const tls = selfSignedCert();
  let bmc: FakeRedfishBmc | undefined;
  afterAll(() => bmc?.stop());

  it.skipIf(!tls)('refuses the certificate by default, with the fix in the message; accepts it when insecure (needs openssl)', async () => {
    bmc = await new FakeRedfishBmc({ tls: tls! }).start();
    expect(bmc.url).toMatch(/^https:/);
    const err = await failure(new RedfishDriver(target(bmc), FAST).status());
    expect(err.attempts).toBe(1);
    expect(err.message).toMatch(/the BMC's TLS certificate is not trusted \(.*self-signed.*\); for a self-signed BMC certificate set insecure/);
    expect(bmc.requests).toHaveLength(0);
    expect(await new RedfishDriver(target(bmc, { insecure: true }), FAST).status()).toBe('on');
  });
});
