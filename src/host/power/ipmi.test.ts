// IpmiDriver with a fake `ipmitool` first on PATH (test-support/
// fake-ipmitool.ts), which records its arguments and environment and
// answers like ipmitool: the command line, the password only in
// IPMI_PASSWORD, status parsing, retries, timeouts, and a missing ipmitool.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { PowerTarget } from '../../core/power.js';
import type { PowerDriverError } from './call-policy.js';
import { IpmiDriver, parseChassisStatus } from './ipmi.js';
import { FakeIpmitool } from './test-support/fake-ipmitool.js';

const FAST = { timeoutMs: 3000, retries: 2, retryDelayMs: 10 };
const PASSWORD = 'pw with $pace;';
const TARGET: PowerTarget = { hostName: 'h2', driver: 'ipmi', address: '127.0.0.1:6230', username: 'admin', password: PASSWORD };
const failure = (p: Promise<unknown>) => p.then(() => expect.fail('should have failed'), (e: unknown) => e as PowerDriverError);

describe('IpmiDriver', () => {
  const fake = new FakeIpmitool();
  const path = process.env.PATH;
  beforeAll(() => {
    process.env.PATH = `${fake.dir}:${path ?? ''}`;
  });
  afterAll(() => {
    process.env.PATH = path;
    fake.remove();
  });
  beforeEach(() => {
    fake.setMode('ok');
    fake.setState('on');
  });

  it('runs ipmitool lanplus with the password only in IPMI_PASSWORD, and reads and switches the power', async () => {
    const d = new IpmiDriver(TARGET, FAST);
    const before = fake.calls().length;
    expect(await d.status()).toBe('on');
    await d.powerOff();
    expect(fake.state()).toBe('off');
    expect(await d.status()).toBe('off');
    await d.powerOn();
    expect(fake.state()).toBe('on');
    const calls = fake.calls().slice(before);
    const base = ['-I', 'lanplus', '-H', '127.0.0.1', '-p', '6230', '-U', 'admin', '-L', 'OPERATOR', '-E', 'chassis', 'power'];
    expect(calls).toEqual([[...base, 'status'], [...base, 'off'], [...base, 'status'], [...base, 'on']]);
    expect(calls.flat().join(' ')).not.toContain('pw with');
    expect(fake.passwords().slice(before)).toEqual(Array(4).fill(PASSWORD));
  });

  it('leaves the port to ipmitool when the address names none', () => {
    expect(new IpmiDriver({ ...TARGET, address: 'bmc-7.example' }).args('status')).toEqual(['-I', 'lanplus', '-H', 'bmc-7.example', '-U', 'admin', '-L', 'OPERATOR', '-E', 'chassis', 'power', 'status']);
    expect(new IpmiDriver({ ...TARGET, address: '[fd00::5]:623' }).args('off').slice(2, 6)).toEqual(['-H', 'fd00::5', '-p', '623']);
  });

  it('retries a failed run, and names the host, the BMC and what ipmitool said when all fail', async () => {
    fake.setMode('fail-once');
    await new IpmiDriver(TARGET, FAST).powerOff();
    expect(fake.state()).toBe('off');
    fake.setMode('fail');
    const before = fake.calls().length;
    const err = await failure(new IpmiDriver(TARGET, FAST).powerOn());
    expect(err.message).toBe('host h2, BMC ipmi 127.0.0.1:6230: power on failed (3 attempts): ipmitool chassis power on exited with 1: Error: Unable to establish IPMI v2 / RMCP+ session');
    expect(fake.calls().length - before).toBe(3);
    expect(fake.state()).toBe('off');
  });

  it('kills an ipmitool that hangs, at the timeout', async () => {
    fake.setMode('hang');
    const err = await failure(new IpmiDriver(TARGET, { timeoutMs: 300, retries: 1, retryDelayMs: 10 }).status());
    expect(err.message).toBe('host h2, BMC ipmi 127.0.0.1:6230: power status failed (2 attempts): no answer within 300 ms');
  });

  it('says so when ipmitool is not installed (no retry)', async () => {
    const empty = mkdtempSync(join(tmpdir(), 'drover-nopath-'));
    process.env.PATH = empty;
    try {
      const err = await failure(new IpmiDriver(TARGET, FAST).status());
      expect(err.attempts).toBe(1);
      expect(err.message).toBe("host h2, BMC ipmi 127.0.0.1:6230: power status failed: ipmitool is not installed on the controller's machine (not found on its PATH); install it: apt-get install ipmitool");
    } finally {
      process.env.PATH = `${fake.dir}:${path ?? ''}`;
      rmSync(empty, { recursive: true, force: true });
    }
  });

  it('reads ipmitool\'s status line', () => {
    expect(parseChassisStatus('Chassis Power is on\n')).toBe('on');
    expect(parseChassisStatus('Chassis Power is off\n')).toBe('off');
    expect(parseChassisStatus('Unable to get Chassis Power Status\n')).toBe('unknown');
  });
});
