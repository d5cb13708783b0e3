import { describe, expect, it } from 'vitest';
import type { VmAssignment } from '../api/agent-protocol.js';
import type { ImageManifest } from '../image/manifest.js';
import { buildQemuArgs } from '../qemu/args.js';
import type { HostCapsResolved } from '../qemu/vm-spec.js';
import { backingOf, buildVmSpec, orderedVolumes } from './qemu-spec.js';
import { agentPaths } from './state-files.js';

const paths = agentPaths('/var/lib/drover/agents/h1');
const kernelImage: ImageManifest = {
  name: 'tiny', kind: 'kernel', kernel: 'vmlinuz', initrd: 'initrd.img', cmdline: 'console=ttyS0 quiet',
  disk: 'disk.qcow2', diskFormat: 'qcow2', files: {}, createdAt: '2024-01-01T00:00:00Z', source: 'built',
};
const diskImage: ImageManifest = { name: 'deb', kind: 'disk', disk: 'disk.raw', diskFormat: 'raw', files: {}, createdAt: '2024-01-01T00:00:00Z', source: 'imported' };

const a: VmAssignment = {
  id: '0123456789abcdef',
  name: 'web',
  spec: {
    image: 'tiny', cpus: 2, maxCpus: 8, memoryMiB: 256, maxMemoryMiB: 1024, mac: '52:54:00:aa:bb:cc',
    volumes: [
      { id: '0123456789abcdef-data1', role: 'data', sizeBytes: 1 << 26 },
      { id: '0123456789abcdef-boot', role: 'boot', sizeBytes: 1 << 30, backingImage: 'tiny' },
    ],
    ports: [{ proto: 'tcp', hostAddress: '127.0.0.1', hostPort: 8080, guestPort: 80 }],
  },
  power: 'running', epoch: 1, rebootSeq: 0, forceStop: false,
};

const caps: HostCapsResolved = { kvm: false, sandbox: false, qemuBinary: '/usr/bin/qemu-system-x86_64', qemuVersion: '7.2.0', balloonFreePageReporting: true, odirect: () => false };

describe('buildVmSpec', () => {
  it('maps a kernel image assignment to a QEMU spec', () => {
    const spec = buildVmSpec(a, { manifest: kernelImage, dir: '/img/tiny' }, paths);
    expect(spec).toMatchObject({
      id: a.id, name: 'web', cpus: 2, maxCpus: 8, memoryMiB: 256, maxMemoryMiB: 1024, memorySlots: 4, balloon: true,
      runDir: '/var/lib/drover/agents/h1/vms/0123456789abcdef',
      boot: { kernel: '/img/tiny/vmlinuz', initrd: '/img/tiny/initrd.img', cmdline: 'console=ttyS0 quiet drover.hostname=web' },
      nics: [{ id: 'net0', mac: '52:54:00:aa:bb:cc', mode: 'user', portForwards: [{ proto: 'tcp', hostAddress: '127.0.0.1', hostPort: 8080, guestPort: 80 }] }],
    });
  });
  it('puts the boot volume first, with device ids QEMU accepts and serials of at most 20 bytes', () => {
    const spec = buildVmSpec(a, { manifest: kernelImage, dir: '/img/tiny' }, paths);
    expect(spec.disks.map((d) => d.path)).toEqual([
      '/var/lib/drover/agents/h1/pools/local/0123456789abcdef/0123456789abcdef-boot.qcow2',
      '/var/lib/drover/agents/h1/pools/local/0123456789abcdef/0123456789abcdef-data1.qcow2',
    ]);
    expect(spec.disks.map((d) => d.id)).toEqual(['disk0', 'disk1']);
    for (const d of spec.disks) expect(d.serial!.length).toBeLessThanOrEqual(20);
    expect(spec.disks.every((d) => d.format === 'qcow2')).toBe(true);
  });
  it('boots a disk image from its first disk, without -kernel', () => {
    const spec = buildVmSpec({ ...a, spec: { ...a.spec, image: 'deb' } }, { manifest: diskImage, dir: '/img/deb' }, paths);
    expect(spec.boot).toEqual({});
    const args = buildQemuArgs(spec, caps);
    expect(args).not.toContain('-kernel');
    expect(args.join(' ')).toContain('id=disk0,bus=rp-disk0,serial=123456789abcdef-boot,bootindex=0');
  });
  it('gives an argv that QEMU accepts (through buildQemuArgs)', () => {
    const args = buildQemuArgs(buildVmSpec(a, { manifest: kernelImage, dir: '/img/tiny' }, paths), caps);
    expect(args).toContain('-kernel');
    expect(args.join(' ')).toContain('hostfwd=tcp:127.0.0.1:8080-:80');
    expect(args.join(' ')).toContain('slots=4,maxmem=1024M');
  });
  it('refuses ids that would escape the agent dirs', () => {
    expect(() => buildVmSpec({ ...a, id: '../etc' }, { manifest: kernelImage, dir: '/img/tiny' }, paths)).toThrow(/not a usable id/);
  });
});

describe('volume helpers', () => {
  it('orders boot volumes first and keeps the others in order', () => {
    expect(orderedVolumes(a.spec.volumes).map((v) => v.role)).toEqual(['boot', 'data']);
  });
  it('finds the base disk of an image', () => {
    expect(backingOf({ manifest: diskImage, dir: '/img/deb' })).toEqual({ file: '/img/deb/disk.raw', format: 'raw' });
    expect(() => backingOf({ manifest: { ...kernelImage, disk: undefined }, dir: '/x' })).toThrow(/no disk/);
  });
});
