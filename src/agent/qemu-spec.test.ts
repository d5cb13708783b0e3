import { describe, expect, it } from 'vitest';
import type { VmAssignment } from '../api/agent-protocol.js';
import type { ImageManifest } from '../image/manifest.js';
import { buildQemuArgs } from '../qemu/args.js';
import type { HostCapsResolved } from '../qemu/vm-spec.js';
import { backingOf, buildVmSpec, diskIdsOf, orderedVolumes } from './qemu-spec.js';
import { tapName } from '../host/network.js';
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
    expect(spec.disks.map((d) => d.id)).toEqual(['disk-boot', 'disk-data1']);
    for (const d of spec.disks) expect(d.serial!.length).toBeLessThanOrEqual(20);
    expect(spec.disks.every((d) => d.format === 'qcow2')).toBe(true);
  });
  it('boots a disk image from its first disk, without -kernel', () => {
    const spec = buildVmSpec({ ...a, spec: { ...a.spec, image: 'deb' } }, { manifest: diskImage, dir: '/img/deb' }, paths);
    expect(spec.boot).toEqual({});
    const args = buildQemuArgs(spec, caps);
    expect(args).not.toContain('-kernel');
    expect(args.join(' ')).toContain('id=disk-boot,bus=rp-disk-boot,serial=123456789abcdef-boot,bootindex=0');
  });
  it('gives an argv that QEMU accepts (through buildQemuArgs)', () => {
    const args = buildQemuArgs(buildVmSpec(a, { manifest: kernelImage, dir: '/img/tiny' }, paths), caps);
    expect(args).toContain('-kernel');
    expect(args.join(' ')).toContain('hostfwd=tcp:127.0.0.1:8080-:80');
    expect(args.join(' ')).toContain('slots=4,maxmem=1024M');
  });
  it('keeps disk ids when another disk goes, leaves detached volumes out, and places hot-added devices on their recorded ports', () => {
    const vols = [a.spec.volumes[1]!, { id: `${a.id}-data1`, role: 'data' as const, sizeBytes: 1 }, { id: `${a.id}-data2`, role: 'data' as const, sizeBytes: 1, port: 'hp0' }];
    const rootPorts = ['rp-disk-boot', 'rp-disk-data1', 'rp-net0', 'hp0', 'hp1', 'hp2', 'hp3'];
    const grown = { ...a, spec: { ...a.spec, volumes: vols, rootPorts, nics: [{ id: 'net1', mac: '52:54:00:00:00:01', network: 'user' as const, port: 'hp1' }] } };
    expect(diskIdsOf(grown)).toEqual(['disk-boot', 'disk-data1', 'disk-data2']);
    const detached = { ...grown, spec: { ...grown.spec, volumes: [vols[0]!, { ...vols[1]!, detached: true }, vols[2]!] } };
    expect(diskIdsOf(detached)).toEqual(['disk-boot', 'disk-data2']);
    const spec = buildVmSpec(detached, { manifest: kernelImage, dir: '/img/tiny' }, paths);
    expect(spec.rootPorts).toEqual(rootPorts);
    expect(spec.nics.map((n) => [n.id, n.port])).toEqual([['net0', undefined], ['net1', 'hp1']]);
    const args = buildQemuArgs(spec, caps).join(' ');
    // rp-disk-data1 stays (empty): the running QEMU had it, a restart or migration target must too.
    expect(args).toContain('pcie-root-port,id=rp-disk-data1,bus=pcie.0,chassis=2');
    expect(args).toContain('id=disk-data2,bus=hp0');
    expect(args).toContain('id=net1,mac=52:54:00:00:00:01,bus=hp1');
    expect(args).not.toContain('id=disk-data1,');
  });
  it('gives added bridged NICs a TAP of their own and needs the host bridge for them', () => {
    const withNic = { ...a, spec: { ...a.spec, nics: [{ id: 'net3', mac: '52:54:00:00:00:03', network: 'bridge' as const }] } };
    const spec = buildVmSpec(withNic, { manifest: kernelImage, dir: '/img/tiny' }, paths, { forwardAddress: '127.0.0.1', bridge: 'drvbr0' });
    expect(spec.nics[1]).toMatchObject({ id: 'net3', mode: 'tap', ifname: tapName(a.id, 3), bridge: 'drvbr0' });
    expect(() => buildVmSpec(withNic, { manifest: kernelImage, dir: '/img/tiny' }, paths)).toThrow(/bridged NIC net3 but this host has no bridge/);
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
