import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { KSM_DIR, enableKsm, ksmStatus, systemPageSize, validateKsmSettings } from './ksm.js';

/** A temp dir standing for /sys/kernel/mm/ksm, with the files this kernel shows. */
function fakeKsm(values: Record<string, string>): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'drover-ksm-'));
  for (const [file, value] of Object.entries(values)) fs.writeFileSync(path.join(dir, file), `${value}\n`);
  return dir;
}

describe('ksmStatus (fake sysfs)', () => {
  let dir: string;
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('reads the counters and counts shared mappings and merged zero pages as saved', () => {
    dir = fakeKsm({ run: '1', pages_shared: '100', pages_sharing: '900', pages_unshared: '50', ksm_zero_pages: '24', full_scans: '3', general_profit: '4000000' });
    expect(ksmStatus(dir, 4096)).toEqual({
      available: true,
      running: true,
      pagesShared: 100,
      pagesSharing: 900,
      pagesUnshared: 50,
      zeroPages: 24,
      fullScans: 3,
      savedBytes: (900 + 24) * 4096,
      profitBytes: 4_000_000,
    });
  });

  it('tells a stopped ksmd and an older kernel (no zero pages, no profit) apart from none', () => {
    dir = fakeKsm({ run: '0', pages_shared: '0', pages_sharing: '0', pages_unshared: '0', full_scans: '0' });
    expect(ksmStatus(dir, 4096)).toMatchObject({ available: true, running: false, zeroPages: 0, savedBytes: 0, profitBytes: null });
    expect(ksmStatus(path.join(dir, 'missing'))).toMatchObject({ available: false, running: false, savedBytes: 0 });
  });
});

describe('enableKsm (fake sysfs)', () => {
  let dir: string;
  beforeEach(() => {
    dir = fakeKsm({ run: '0', pages_to_scan: '100', sleep_millisecs: '20', pages_sharing: '0' });
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('starts ksmd at our scan rate, or the one given', () => {
    expect(enableKsm(dir)).toEqual({ enabled: true, wrote: { pages_to_scan: '1000', sleep_millisecs: '50', run: '1' } });
    expect(ksmStatus(dir).running).toBe(true);
    expect(enableKsm(dir, { pagesToScan: 300, sleepMs: 10 })).toEqual({ enabled: true, wrote: { pages_to_scan: '300', sleep_millisecs: '10', run: '1' } });
    expect(fs.readFileSync(path.join(dir, 'sleep_millisecs'), 'utf8')).toBe('10');
  });

  it('changes nothing and says why when there is no KSM', () => {
    const result = enableKsm(path.join(dir, 'missing'));
    expect(result).toEqual({ enabled: false, reason: `this kernel has no KSM (${path.join(dir, 'missing')}/run is missing)` });
  });

  it('refuses bad settings, naming them', () => {
    expect(() => enableKsm(dir, { pagesToScan: 0 })).toThrow('pagesToScan: must be an integer between 1 and 100000, not 0');
    expect(() => validateKsmSettings({ sleepMs: 2.5 })).toThrow('sleepMs: must be an integer between 1 and 60000, not 2.5');
    expect(fs.readFileSync(path.join(dir, 'run'), 'utf8')).toBe('0\n');
  });
});

describe('KSM on this host (read only)', () => {
  it('knows the page size', () => {
    expect([4096, 16384, 65536]).toContain(systemPageSize());
  });

  const present = fs.existsSync(path.join(KSM_DIR, 'run'));
  it.skipIf(!present)(`reads ${KSM_DIR}${present ? '' : ' (skipped: this kernel has no KSM)'}`, () => {
    const s = ksmStatus();
    expect(s.available).toBe(true);
    expect(s.running).toBe(fs.readFileSync(path.join(KSM_DIR, 'run'), 'utf8').trim() === '1');
    expect(s.savedBytes).toBe((s.pagesSharing + s.zeroPages) * systemPageSize());
    for (const n of [s.pagesShared, s.pagesSharing, s.pagesUnshared, s.fullScans]) expect(Number.isInteger(n) && n >= 0).toBe(true);
  });
});
