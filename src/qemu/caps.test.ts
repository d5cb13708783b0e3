import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { detectHostCaps, findOnPath, kvmUsable, odirectSupported, probeHostCaps, QemuMissingError } from './caps.js';

describe('detectHostCaps', () => {
  it('finds QEMU, its version and what it supports, once', async () => {
    const caps = await detectHostCaps();
    expect(caps.qemuBinary).toMatch(/qemu-system-x86_64$/);
    expect(caps.qemuVersion).toMatch(/^\d+\.\d+\.\d+$/);
    // Without a guest kernel to test it with, KVM is trusted only when forced (kvm-check.ts).
    if (!kvmUsable()) expect(caps).toMatchObject({ kvm: false, kvmFinal: true });
    expect(typeof caps.kvmReason).toBe('string');
    expect(typeof caps.sandbox).toBe('boolean');
    expect(typeof caps.balloonFreePageReporting).toBe('boolean');
    expect(await detectHostCaps()).toBe(caps);
  });

  it('throws QemuMissingError with the package to install when QEMU is not on PATH', async () => {
    const empty = fs.mkdtempSync(path.join(os.tmpdir(), 'nopath-'));
    try {
      const err = await probeHostCaps(empty).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(QemuMissingError);
      expect((err as Error).message).toBe('qemu-system-x86_64 not found: install the Debian package qemu-system-x86');
    } finally {
      fs.rmSync(empty, { recursive: true });
    }
  });

  it('searches PATH entries in order and skips non-executables', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'path-'));
    try {
      fs.writeFileSync(path.join(dir, 'tool'), '');
      expect(findOnPath('tool', `/nonexistent:${dir}`)).toBeNull();
      fs.chmodSync(path.join(dir, 'tool'), 0o755);
      expect(findOnPath('tool', `/nonexistent:${dir}`)).toBe(path.join(dir, 'tool'));
    } finally {
      fs.rmSync(dir, { recursive: true });
    }
  });

  it('probes O_DIRECT per directory and leaves no probe file behind', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'odirect-'));
    try {
      const caps = await detectHostCaps();
      const direct = odirectSupported(dir);
      expect(caps.odirect(dir)).toBe(direct);
      expect(fs.readdirSync(dir)).toEqual([]);
      expect(odirectSupported(path.join(dir, 'missing'))).toBe(false);
    } finally {
      fs.rmSync(dir, { recursive: true });
    }
  });
});
