import { describe, it, expect } from 'vitest';
import { debFileName, isKernelPackageName, parseAptDepends, parseAptPolicy, parseDebFileName, pickNewest } from './kernel-package.js';

describe('kernel package selection', () => {
  it('accepts concrete cloud kernels only', () => {
    expect(isKernelPackageName('linux-image-6.1.0-56-cloud-amd64')).toBe(true);
    expect(isKernelPackageName('linux-image-6.12.117+deb12-cloud-amd64')).toBe(true);
    expect(isKernelPackageName('linux-image-cloud-amd64')).toBe(false);
    expect(isKernelPackageName('linux-image-6.12-cloud-amd64')).toBe(false);
    expect(isKernelPackageName('linux-image-6.1.0-56-cloud-amd64-dbg')).toBe(false);
    expect(isKernelPackageName('linux-image-6.1.0-56-amd64')).toBe(false);
  });

  it('reads candidates from apt-cache policy, skipping packages without one', () => {
    const out = [
      'linux-image-6.1.0-47-cloud-amd64:',
      '  Installed: (none)',
      '  Candidate: 6.1.170-3',
      '  Version table:',
      '     6.1.170-3 500',
      'linux-image-6.1.0-99-cloud-amd64:',
      '  Installed: (none)',
      '  Candidate: (none)',
      'linux-image-6.12.117+deb12-cloud-amd64:',
      '  Candidate: 6.12.117-1~deb12u1',
    ].join('\n');
    const found = parseAptPolicy(out);
    expect(found).toEqual([
      { name: 'linux-image-6.1.0-47-cloud-amd64', version: '6.1.170-3' },
      { name: 'linux-image-6.12.117+deb12-cloud-amd64', version: '6.12.117-1~deb12u1' },
    ]);
    expect(pickNewest(found)?.name).toBe('linux-image-6.12.117+deb12-cloud-amd64');
  });

  it('finds the kernel a meta package depends on', () => {
    expect(parseAptDepends('linux-image-cloud-amd64\n  Depends: linux-image-6.1.0-56-cloud-amd64\n')).toBe(
      'linux-image-6.1.0-56-cloud-amd64',
    );
    expect(parseAptDepends('linux-image-cloud-amd64\n')).toBeUndefined();
  });

  it('round-trips .deb file names, epochs included', () => {
    const pkg = { name: 'linux-image-6.1.0-56-cloud-amd64', version: '1:6.1.192-2' };
    expect(debFileName(pkg)).toBe('linux-image-6.1.0-56-cloud-amd64_1%3a6.1.192-2_amd64.deb');
    expect(parseDebFileName(debFileName(pkg))).toEqual(pkg);
    expect(parseDebFileName('busybox_1.35_amd64.deb')).toBeNull();
  });
});
