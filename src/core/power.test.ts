// The pure parts of power fencing: when a host is due to be powered off,
// the verdict once its BMC confirmed it off, and the check of power settings.
import { describe, expect, it } from 'vitest';
import { judgeHost, powerFenceDue, type HostHaInput, type LeaseObservation } from './ha-failover.js';
import { haTiming } from './ha-timing.js';
import { checkPowerSettings, PowerSettingsError, splitIpmiAddress, type PowerSettingsInput } from './power.js';

const T = haTiming(1000); // suspect 3000, expire 6250, renewing within 2250
const seen = (unchangedMs: number, extra: Partial<LeaseObservation> = {}): LeaseObservation => ({ seen: true, unchangedMs, ...extra });

describe('powerFenceDue', () => {
  const due = (input: Omit<HostHaInput, 'state'>, state = 'Ready') => {
    const i = { state, ...input };
    return powerFenceDue(i, judgeHost(i, T));
  };

  it('is due only for a suspected host: silent, its lease seen and not renewed lately', () => {
    expect(due({ silentMs: 3000, lease: seen(2251) })).toBe(true);
    expect(due({ silentMs: 3000, lease: seen(2251) }, 'Maintenance')).toBe(true);
  });

  it('is never due for a host that reports, an isolated one, or one whose lease proves nothing', () => {
    expect(due({ silentMs: 2999, lease: seen(6000) })).toBe(false); // reports
    expect(due({ silentMs: 0, lease: seen(6250) })).toBe(false); // reports, lease looks expired (lease-stale)
    expect(due({ silentMs: 600_000, lease: seen(2250) })).toBe(false); // isolated
    expect(due({ silentMs: 600_000, lease: { seen: false, unchangedMs: 0 } })).toBe(false); // no lease ever
    expect(due({ silentMs: 600_000, lease: seen(3000, { readError: 'EIO' }) })).toBe(false); // unreadable: suspected, but not by the host
    expect(due({ silentMs: 600_000, lease: seen(3000, { mismatch: 'another pool' }) })).toBe(false);
    expect(due({ silentMs: 600_000, lease: seen(6250) })).toBe(false); // dead already by lease
    expect(due({ silentMs: 600_000, lease: seen(3000) }, 'Fenced')).toBe(false);
    expect(due({ silentMs: 600_000, lease: seen(3000) }, 'Standby')).toBe(false);
  });
});

describe('judgeHost of a host its BMC confirmed off', () => {
  it('is dead at once while it is silent, whatever its lease', () => {
    const j = judgeHost({ state: 'Ready', silentMs: 3000, lease: seen(2300), poweredOff: true }, T);
    expect(j).toEqual({ verdict: 'dead', reason: 'powered off by its BMC (confirmed off; silent for 3.0 s, lease unchanged for 2.3 s)' });
    expect(judgeHost({ state: 'Ready', silentMs: 3000, lease: seen(0), poweredOff: true }, T).verdict).toBe('dead');
  });

  it('is not dead while it reports, and a Fenced host stays fenced', () => {
    expect(judgeHost({ state: 'Ready', silentMs: 100, lease: seen(2300), poweredOff: true }, T).verdict).toBe('alive');
    expect(judgeHost({ state: 'Fenced', silentMs: 9000, lease: seen(9000), poweredOff: true }, T).verdict).toBe('fenced');
  });
});

describe('checkPowerSettings', () => {
  const ok = (input: PowerSettingsInput, hasPassword = false) => checkPowerSettings(input, hasPassword);
  const fieldOf = (input: PowerSettingsInput, hasPassword = false) => {
    try {
      checkPowerSettings(input, hasPassword);
    } catch (err) {
      return (err as PowerSettingsError).field;
    }
    return undefined;
  };

  it('normalises a redfish address to its origin, or its system path', () => {
    expect(ok({ driver: 'redfish', address: ' https://BMC.example:8443/ ', username: 'u', password: 'p' }).address).toBe('https://bmc.example:8443');
    expect(ok({ driver: 'redfish', address: 'https://bmc/redfish/v1/Systems/System.Embedded.1/', username: 'u', password: 'p', insecure: true }))
      .toEqual({ driver: 'redfish', address: 'https://bmc/redfish/v1/Systems/System.Embedded.1', username: 'u', insecure: true });
  });

  it('keeps a stored password when none is given, else requires one', () => {
    expect(ok({ driver: 'ipmi', address: '10.0.0.5:623', username: 'ADMIN' }, true).address).toBe('10.0.0.5:623');
    expect(fieldOf({ driver: 'ipmi', address: '10.0.0.5', username: 'ADMIN' })).toBe('password');
  });

  it('names the field at fault', () => {
    expect(fieldOf({ driver: 'wol', address: 'x', username: 'u', password: 'p' })).toBe('driver');
    expect(fieldOf({ driver: 'redfish', address: 'https://bmc?x=1', username: 'u', password: 'p' })).toBe('address');
    expect(fieldOf({ driver: 'redfish', address: 'https://bmc', username: 'has space', password: 'p' })).toBe('username');
    expect(fieldOf({ driver: 'ipmi', address: '-H', username: 'u', password: 'p' })).toBe('address');
    expect(fieldOf({ driver: 'ipmi', address: 'bmc', username: 'u', password: 'p', insecure: true })).toBe('insecure');
  });

  it('splits an ipmi address', () => {
    expect(splitIpmiAddress('bmc')).toEqual({ host: 'bmc' });
    expect(splitIpmiAddress('10.0.0.5:6230')).toEqual({ host: '10.0.0.5', port: 6230 });
    expect(splitIpmiAddress('[fd00::5]')).toEqual({ host: 'fd00::5' });
  });
});
