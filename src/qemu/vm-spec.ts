// The input of one QEMU process: what the agent asks src/qemu to run.

export interface QemuDisk {
  id: string;
  path: string;
  format: 'qcow2' | 'raw';
  readOnly?: boolean;
  serial?: string;
  /** The root port it sits on; absent: its own rp-<id>. */
  port?: string;
}

export interface QemuPortForward {
  proto: 'tcp' | 'udp';
  hostAddress: string;
  hostPort: number;
  guestPort: number;
}

/** user: QEMU's NAT with port forwards. tap: an existing TAP device, opened by name (the agent creates it on the bridge). */
export type QemuNic = { id: string; mac: string; port?: string } & ({ mode: 'user'; portForwards: QemuPortForward[] } | { mode: 'tap'; ifname: string; bridge: string });

export interface QemuVmSpec {
  id: string;
  name: string;
  cpus: number;
  maxCpus: number;
  memoryMiB: number;
  maxMemoryMiB: number;
  /** Fixed memory it boots with; memoryMiB above it is virtio-mem (hotplug.ts). Absent: memoryMiB. */
  bootMemoryMiB?: number;
  memorySlots: number;
  /** No kernel: the firmware boots the first disk. */
  boot: { kernel?: string; initrd?: string; cmdline?: string };
  disks: QemuDisk[];
  nics: QemuNic[];
  balloon: boolean;
  /** Holds qmp.sock, serial.sock, qemu.pid, qemu.log (socket paths must stay < 108 bytes). */
  runDir: string;
  /** Empty PCIe root ports left for hot-added disks and NICs (default 4). */
  hotplugPorts?: number;
  /** The root ports in order (src/core/device-layout.ts); absent: one per device, then the hotplug ports. */
  rootPorts?: string[];
  /** Start as a live-migration destination: paused (-S) and waiting for migrate-incoming (-incoming defer). */
  incoming?: boolean;
}

export interface HostCaps {
  kvm: boolean;
  sandbox: boolean;
  qemuBinary: string;
  qemuVersion: string;
  /** Whether files in dir can be opened with O_DIRECT (tmpfs before Linux 6.6 cannot). */
  odirect(dir: string): boolean;
}

/** HostCaps plus what detectHostCaps probed about this QEMU binary. */
export interface HostCapsResolved extends HostCaps {
  /** Why KVM is used or not (src/qemu/kvm-check.ts). */
  kvmReason?: string;
  /** False while KVM could not be tested yet (no guest kernel): detectHostCaps with kernels tests it then. */
  kvmFinal?: boolean;
  /** virtio-balloon-pci has the free-page-reporting property (QEMU >= 5.1). */
  balloonFreePageReporting: boolean;
}
