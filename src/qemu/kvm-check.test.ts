// The KVM test boot, against stand-in QEMU binaries that print what a real
// one prints when KVM works, when it is broken, and when it hangs.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { bootsUnderKvm, kvmVerdict, testKernels } from './kvm-check.js';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kvm-check-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

function fakeQemu(name: string, script: string): string {
  const file = path.join(dir, name);
  fs.writeFileSync(file, `#!/bin/sh\n${script}\n`, { mode: 0o755 });
  return file;
}

const works = fakeQemu('works', 'echo "[    0.9] Kernel panic - not syncing: VFS: Unable to mount root fs on unknown-block(0,0)"; exit 0');
const broken = fakeQemu('broken', 'echo "KVM internal error. Suberror: 1" >&2; echo "emulation failure" >&2; sleep 30');
const hangs = fakeQemu('hangs', 'echo "Booting from ROM..."; sleep 30');
const kernel = path.join(dir, 'vmlinuz');
const env = { DROVER_KVM_CHECK_FILE: path.join(dir, 'kvm-check.json') };
fs.writeFileSync(kernel, 'not really a kernel');

describe('bootsUnderKvm', () => {
  it('passes when the test kernel gets as far as mounting its root', async () => {
    expect(await bootsUnderKvm(works, kernel)).toEqual({ ok: true, detail: 'a test kernel booted under KVM' });
  });

  it('fails at once when QEMU reports a KVM internal error, and stops that QEMU', async () => {
    const t0 = Date.now();
    expect(await bootsUnderKvm(broken, kernel)).toEqual({ ok: false, detail: 'QEMU under KVM: KVM internal error' });
    expect(Date.now() - t0).toBeLessThan(10_000);
  });

  it('fails when the kernel shows nothing within the time given', async () => {
    expect(await bootsUnderKvm(hangs, kernel, 500)).toEqual({ ok: false, detail: 'the test kernel did not boot under KVM within 0.5 s' });
  });
});

describe('kvmVerdict', () => {
  it('follows DROVER_ACCEL without a test, and uses TCG when /dev/kvm does not open', async () => {
    expect(await kvmVerdict(broken, true, [kernel], { DROVER_ACCEL: 'kvm' })).toEqual({ kvm: true, reason: 'DROVER_ACCEL=kvm', final: true });
    expect(await kvmVerdict(works, true, [kernel], { DROVER_ACCEL: 'tcg' })).toEqual({ kvm: false, reason: 'DROVER_ACCEL=tcg', final: true });
    expect(await kvmVerdict(works, false, [kernel], {})).toMatchObject({ kvm: false, final: true });
  });

  it('does not trust an untested KVM: TCG, not final, until a kernel exists; then the test decides for good', async () => {
    expect(await kvmVerdict(works, true, [], env)).toMatchObject({ kvm: false, final: false });
    const v = await kvmVerdict(broken, true, [kernel], env);
    expect(v).toMatchObject({ kvm: false, final: true });
    expect(v.reason).toBe('/dev/kvm is there but guests do not run under it (QEMU under KVM: KVM internal error): TCG software emulation');
    // Settled for the process: a later call does not boot again.
    expect(await kvmVerdict(works, true, [kernel], env)).toBe(v);
    // And kept for this boot of the machine, for the next process (same QEMU binary only).
    expect(JSON.parse(fs.readFileSync(env.DROVER_KVM_CHECK_FILE, 'utf8'))).toMatchObject({ qemuBinary: broken, kvm: false });
  });

  it('looks for kernels in the images dir first', () => {
    fs.mkdirSync(path.join(dir, 'images', 'tiny'), { recursive: true });
    fs.writeFileSync(path.join(dir, 'images', 'tiny', 'vmlinuz'), '');
    expect(testKernels(path.join(dir, 'images'))[0]).toBe(path.join(dir, 'images', 'tiny', 'vmlinuz'));
  });
});
