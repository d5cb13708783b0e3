import { describe, expect, it } from 'vitest';
import { buildQemuArgs, hotplugPortIds, optValue, QemuArgsError } from './args.js';
import type { HostCapsResolved, QemuVmSpec } from './vm-spec.js';

const tcg: HostCapsResolved = {
  kvm: false,
  sandbox: false,
  qemuBinary: '/usr/bin/qemu-system-x86_64',
  qemuVersion: '7.2.22',
  balloonFreePageReporting: true,
  odirect: (dir) => dir !== '/dev/shm',
};
const kvm: HostCapsResolved = { ...tcg, kvm: true, sandbox: true };

function spec(over: Partial<QemuVmSpec> = {}): QemuVmSpec {
  return {
    id: '0f8e2c1a-7b5d-4e3f-9a21-6c4d8b0e1f23',
    name: 'web-1',
    cpus: 2,
    maxCpus: 4,
    memoryMiB: 512,
    maxMemoryMiB: 2048,
    memorySlots: 4,
    boot: {},
    disks: [{ id: 'disk0', path: '/var/lib/drover/vms/web-1/root.qcow2', format: 'qcow2', serial: 'root' }],
    nics: [{ id: 'nic0', mac: '52:54:00:12:34:56', mode: 'user', portForwards: [{ proto: 'tcp', hostAddress: '127.0.0.1', hostPort: 18080, guestPort: 80 }] }],
    balloon: true,
    runDir: '/run/drover/web-1',
    ...over,
  };
}

/** The value following each occurrence of flag. */
function values(args: string[], flag: string): string[] {
  return args.flatMap((a, i) => (a === flag ? [args[i + 1] as string] : []));
}

describe('buildQemuArgs', () => {
  it('uses TCG and -cpu max without KVM, KVM and -cpu host with it', () => {
    const soft = buildQemuArgs(spec(), tcg);
    expect(values(soft, '-machine')).toEqual(['q35']);
    expect(values(soft, '-accel')).toEqual(['tcg']);
    expect(values(soft, '-cpu')).toEqual(['max']);
    const hard = buildQemuArgs(spec(), kvm);
    expect(values(hard, '-machine')).toEqual(['q35,accel=kvm']);
    expect(values(hard, '-accel')).toEqual([]);
    expect(values(hard, '-cpu')).toEqual(['host']);
  });

  it('names the guest, and sets the uuid only when the id is one', () => {
    expect(values(buildQemuArgs(spec(), tcg), '-name')).toEqual(['guest=web-1,debug-threads=on']);
    expect(values(buildQemuArgs(spec(), tcg), '-uuid')).toEqual(['0f8e2c1a-7b5d-4e3f-9a21-6c4d8b0e1f23']);
    expect(values(buildQemuArgs(spec({ id: 'vm-7' }), tcg), '-uuid')).toEqual([]);
  });

  it('boots one vCPU and adds the others as devices, one socket each, so all but the first can be unplugged', () => {
    const args = buildQemuArgs(spec({ cpus: 3 }), tcg);
    expect(values(args, '-smp')).toEqual(['1,maxcpus=4,sockets=4,cores=1,threads=1']);
    expect(values(args, '-device').filter((d) => d.includes('-x86_64-cpu'))).toEqual([
      'max-x86_64-cpu,id=cpu1,socket-id=1,core-id=0,thread-id=0',
      'max-x86_64-cpu,id=cpu2,socket-id=2,core-id=0,thread-id=0',
    ]);
    expect(values(buildQemuArgs(spec({ cpus: 2 }), kvm), '-device').filter((d) => d.includes('-x86_64-cpu'))).toEqual(['host-x86_64-cpu,id=cpu1,socket-id=1,core-id=0,thread-id=0']);
  });

  it('boots fixed memory and puts the room up to the maximum in a virtio-mem device on its own root port', () => {
    const args = buildQemuArgs(spec({ memoryMiB: 768, bootMemoryMiB: 512 }), tcg);
    expect(values(args, '-m')).toEqual(['size=512M,slots=4,maxmem=2048M']);
    expect(values(args, '-object')).toEqual(['memory-backend-ram,id=vmem0-ram,size=1536M']);
    expect(values(args, '-device')).toContain('virtio-mem-pci,id=vmem0,memdev=vmem0-ram,requested-size=256M,bus=rp-vmem0');
    expect(values(args, '-device')).toContain('pcie-root-port,id=rp-vmem0,bus=pcie.0,chassis=7,io-reserve=0');
    // The port exists before the device that sits on it.
    expect(args.findIndex((a) => a.startsWith('pcie-root-port,id=rp-vmem0'))).toBeLessThan(args.findIndex((a) => a.startsWith('virtio-mem-pci')));
    // Without bootMemoryMiB it boots all of memoryMiB; without room above it, no virtio-mem.
    expect(values(buildQemuArgs(spec(), tcg), '-m')).toEqual(['size=512M,slots=4,maxmem=2048M']);
    const fixed = buildQemuArgs(spec({ maxMemoryMiB: 512 }), tcg);
    expect(values(fixed, '-m')).toEqual(['size=512M']);
    expect(fixed.some((a) => a.includes('virtio-mem'))).toBe(false);
  });

  it('has no default devices nor display', () => {
    const args = buildQemuArgs(spec(), tcg);
    for (const flag of ['-nodefaults', '-no-user-config', '-nographic']) expect(args).toContain(flag);
    expect(values(args, '-display')).toEqual(['none']);
  });

  it('wires QMP, the serial console and the pidfile into runDir', () => {
    const args = buildQemuArgs(spec(), tcg);
    expect(values(args, '-chardev')).toEqual([
      'socket,id=qmp,path=/run/drover/web-1/qmp.sock,server=on,wait=off',
      'socket,id=serial0,path=/run/drover/web-1/serial.sock,server=on,wait=off',
    ]);
    expect(values(args, '-mon')).toEqual(['chardev=qmp,mode=control']);
    expect(values(args, '-serial')).toEqual(['chardev:serial0']);
    expect(values(args, '-pidfile')).toEqual(['/run/drover/web-1/qemu.pid']);
  });

  it('puts every device on its own root port and leaves free ports for hotplug', () => {
    const args = buildQemuArgs(spec({ hotplugPorts: 2, maxMemoryMiB: 512 }), tcg);
    const ports = values(args, '-device').filter((d) => d.startsWith('pcie-root-port'));
    expect(ports).toEqual([
      'pcie-root-port,id=rp-disk0,bus=pcie.0,chassis=1,io-reserve=0',
      'pcie-root-port,id=rp-nic0,bus=pcie.0,chassis=2,io-reserve=0',
      'pcie-root-port,id=hp0,bus=pcie.0,chassis=3,io-reserve=0',
      'pcie-root-port,id=hp1,bus=pcie.0,chassis=4,io-reserve=0',
    ]);
    expect(hotplugPortIds(spec())).toEqual(['hp0', 'hp1', 'hp2', 'hp3']);
  });

  it('puts a hot-added device on the port it took, without a port of its own, so a restart or migration target matches', () => {
    const hot = spec({
      maxMemoryMiB: 512,
      disks: [...spec().disks, { id: 'disk-data2', path: '/d/data2.qcow2', format: 'qcow2', port: 'hp0' }],
      nics: [...spec().nics, { id: 'net1', mac: '52:54:00:00:00:01', mode: 'user', portForwards: [], port: 'hp1' }],
    });
    const devices = values(buildQemuArgs(hot, tcg), '-device');
    expect(devices.filter((d) => d.startsWith('pcie-root-port')).map((d) => d.split(',')[1])).toEqual(['id=rp-disk0', 'id=rp-nic0', 'id=hp0', 'id=hp1', 'id=hp2', 'id=hp3']);
    expect(devices).toContain('virtio-blk-pci,drive=fmt-disk-data2,id=disk-data2,bus=hp0');
    expect(devices).toContain('virtio-net-pci,netdev=net-net1,id=net1,mac=52:54:00:00:00:01,bus=hp1,romfile=');
  });

  it('follows pinned root ports (an empty port a removed device left stays), and refuses a device off them', () => {
    const rootPorts = ['rp-disk0', 'rp-gone', 'rp-nic0', 'hp0', 'hp1', 'hp2', 'hp3'];
    const ports = values(buildQemuArgs(spec({ maxMemoryMiB: 512, rootPorts }), tcg), '-device').filter((d) => d.startsWith('pcie-root-port'));
    expect(ports.map((d) => d.split(',').slice(1, 4).join(','))).toEqual(rootPorts.map((id, i) => `id=${id},bus=pcie.0,chassis=${i + 1}`));
    const off = spec({ rootPorts, disks: [{ ...spec().disks[0]!, port: 'hp9' }] });
    expect(() => buildQemuArgs(off, tcg)).toThrow(QemuArgsError);
    expect(() => buildQemuArgs(off, tcg)).toThrow(/disks\[disk0\]\.port: "hp9" is not one of the root ports/);
    const twice = spec({ nics: [{ ...spec().nics[0]!, port: 'hp0' }], disks: [{ ...spec().disks[0]!, port: 'hp0' }] });
    expect(() => buildQemuArgs(twice, tcg)).toThrow(/nics\[nic0\]\.port: "hp0" holds another device already/);
  });

  it('opens disks with -blockdev, locking, and O_DIRECT only where the filesystem allows', () => {
    const args = buildQemuArgs(spec(), tcg);
    expect(values(args, '-blockdev')).toEqual([
      'driver=file,node-name=file-disk0,filename=/var/lib/drover/vms/web-1/root.qcow2,locking=on,cache.direct=on,discard=unmap',
      'driver=qcow2,node-name=fmt-disk0,file=file-disk0,discard=unmap',
    ]);
    expect(values(args, '-device')).toContain('virtio-blk-pci,drive=fmt-disk0,id=disk0,bus=rp-disk0,serial=root,bootindex=0');
    const shm = buildQemuArgs(spec({ disks: [{ id: 'd1', path: '/dev/shm/x.img', format: 'raw', readOnly: true }] }), tcg);
    expect(values(shm, '-blockdev')).toEqual([
      'driver=file,node-name=file-d1,filename=/dev/shm/x.img,locking=on,read-only=on,discard=unmap',
      'driver=raw,node-name=fmt-d1,file=file-d1,read-only=on,discard=unmap',
    ]);
  });

  it('boots the kernel directly when given, without a boot index on disks', () => {
    const args = buildQemuArgs(spec({ boot: { kernel: '/k/vmlinuz', initrd: '/k/initrd', cmdline: 'console=ttyS0 quiet' } }), tcg);
    expect(values(args, '-kernel')).toEqual(['/k/vmlinuz']);
    expect(values(args, '-initrd')).toEqual(['/k/initrd']);
    expect(values(args, '-append')).toEqual(['console=ttyS0 quiet']);
    expect(values(args, '-device').some((d) => d.includes('bootindex'))).toBe(false);
    expect(values(buildQemuArgs(spec(), tcg), '-kernel')).toEqual([]);
  });

  it('builds user networking with port forwards', () => {
    const nic = { id: 'nic0', mac: '52:54:00:00:00:01', mode: 'user' as const, portForwards: [
      { proto: 'tcp' as const, hostAddress: '127.0.0.1', hostPort: 2222, guestPort: 22 },
      { proto: 'udp' as const, hostAddress: '0.0.0.0', hostPort: 5353, guestPort: 53 },
    ] };
    const args = buildQemuArgs(spec({ nics: [nic] }), tcg);
    expect(values(args, '-netdev')).toEqual(['user,id=net-nic0,hostfwd=tcp:127.0.0.1:2222-:22,hostfwd=udp:0.0.0.0:5353-:53']);
    expect(values(args, '-device')).toContain('virtio-net-pci,netdev=net-nic0,id=nic0,mac=52:54:00:00:00:01,bus=rp-nic0,romfile=');
  });

  it('adds the balloon with free page reporting when QEMU has it', () => {
    expect(values(buildQemuArgs(spec(), tcg), '-device')).toContain('virtio-balloon-pci,id=balloon0,free-page-reporting=on,deflate-on-oom=on');
    const old = buildQemuArgs(spec(), { ...tcg, balloonFreePageReporting: false });
    expect(values(old, '-device')).toContain('virtio-balloon-pci,id=balloon0,deflate-on-oom=on');
    expect(buildQemuArgs(spec({ balloon: false }), tcg).join(' ')).not.toContain('balloon');
  });

  it('sandboxes QEMU when the host supports it', () => {
    expect(values(buildQemuArgs(spec(), kvm), '-sandbox')).toEqual(['on,obsolete=deny,elevateprivileges=deny,spawn=deny,resourcecontrol=deny']);
    expect(values(buildQemuArgs(spec(), tcg), '-sandbox')).toEqual([]);
  });

  it('escapes commas inside option values', () => {
    expect(optValue('a,b,,c')).toBe('a,,b,,,,c');
    const args = buildQemuArgs(spec({ name: 'odd,name', runDir: '/tmp/a,b', disks: [{ id: 'd', path: '/x,y.img', format: 'raw' }] }), tcg);
    expect(values(args, '-name')).toEqual(['guest=odd,,name,debug-threads=on']);
    expect(values(args, '-chardev')[0]).toBe('socket,id=qmp,path=/tmp/a,,b/qmp.sock,server=on,wait=off');
    expect(values(args, '-blockdev')[0]).toContain('filename=/x,,y.img,');
  });

  it('rejects ids, MACs and addresses QEMU cannot take, naming the field', () => {
    expect(() => buildQemuArgs(spec({ disks: [{ id: '0bad', path: '/x', format: 'raw' }] }), tcg)).toThrow(QemuArgsError);
    expect(() => buildQemuArgs(spec({ disks: [{ id: 'bad,id', path: '/x', format: 'raw' }] }), tcg)).toThrow(/disks\[bad,id\]\.id/);
    const nic = spec().nics[0]!;
    if (nic.mode !== 'user') throw new Error('the sample NIC is user-mode');
    expect(() => buildQemuArgs(spec({ nics: [{ ...nic, mac: '52:54:00' }] }), tcg)).toThrow(/nics\[nic0\]\.mac/);
    const fwd = { proto: 'tcp' as const, hostAddress: '::1', hostPort: 1, guestPort: 2 };
    expect(() => buildQemuArgs(spec({ nics: [{ ...nic, portForwards: [fwd] }] }), tcg)).toThrow(/hostAddress/);
    expect(() => buildQemuArgs(spec({ nics: [{ id: 'nic0', mac: nic.mac, mode: 'tap', ifname: 'much-too-long-name', bridge: 'br0' }] }), tcg)).toThrow(/nics\[nic0\]\.ifname/);
  });

  it('opens a TAP by name for bridged NICs, without helper scripts', () => {
    const args = buildQemuArgs(spec({ nics: [{ id: 'nic0', mac: '52:54:00:12:34:56', mode: 'tap', ifname: 'drvt0123456780', bridge: 'br0' }] }), tcg);
    expect(values(args, '-netdev')).toEqual(['tap,id=net-nic0,ifname=drvt0123456780,script=no,downscript=no']);
    expect(values(args, '-device').some((d) => d.startsWith('virtio-net-pci,netdev=net-nic0,') && d.includes('mac=52:54:00:12:34:56'))).toBe(true);
  });

  it('returns argv words: flags followed by their values, none empty', () => {
    const args = buildQemuArgs(spec(), kvm);
    expect(args.every((a) => a.length > 0)).toBe(true);
    expect(args[0]).toBe('-name');
  });
});
