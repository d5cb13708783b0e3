import { describe, expect, it } from 'vitest';
import type { Host } from '../api/resources.js';
import { ksmText } from './commands/host.js';

const inv = (ksm?: NonNullable<Host['inventory']>['ksm']): Host['inventory'] => ({
  hostname: 'h', cpus: 2, memoryMiB: 4096, kvm: false, qemuVersion: '7.2.0', freeDiskBytes: 1, agentVersion: '0', ...(ksm ? { ksm } : {}),
});

describe('ksmText (drover host show)', () => {
  it('shows the savings while KSM runs', () => {
    expect(ksmText(inv({ running: true, savedBytes: 3 * 1048576, pagesShared: 10 }))).toMatch(/^on, saves 3(\.0)? MiB$/);
  });
  it('says how to turn it on when it is off, and what it still saves', () => {
    expect(ksmText(inv({ running: false, savedBytes: 0, pagesShared: 0 }))).toBe('off (agent flag --ksm turns it on)');
    expect(ksmText(inv({ running: false, savedBytes: 1048576, pagesShared: 1 }))).toMatch(/still saves 1(\.0)? MiB/);
  });
  it('says nothing when the kernel has no KSM or the host has not reported', () => {
    expect(ksmText(inv())).toBeUndefined();
    expect(ksmText(undefined)).toBeUndefined();
  });
});
