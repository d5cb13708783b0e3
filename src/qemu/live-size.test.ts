import { afterEach, describe, expect, it } from 'vitest';
import { applySize, readLiveSize } from './live-size.js';
import { QmpClient } from './qmp-client.js';
import { sendQmp, startFakeQmp, type FakeQmpCommand } from './test-support/fake-qmp.js';

const MiB = 1048576;
const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const fn of cleanups.splice(0).reverse()) await fn();
});

/** A fake QEMU 7.2 with maxcpus 4 (sockets 0-3), 256 MiB boot memory and, unless noVmem, a virtio-mem device. */
async function fakeQemu(state: { sockets: number[]; pluggedMiB: number; requestedMiB: number; noVmem?: boolean }): Promise<{ qmp: QmpClient; received: FakeQmpCommand[] }> {
  const answer = (cmd: FakeQmpCommand): object => {
    const a = cmd.arguments ?? {};
    switch (cmd.execute) {
      case 'query-hotpluggable-cpus':
        return { return: [3, 2, 1, 0].map((s) => ({ type: 'max-x86_64-cpu', 'vcpus-count': 1, props: { 'socket-id': s, 'core-id': 0, 'thread-id': 0 }, ...(state.sockets.includes(s) ? { 'qom-path': s === 0 ? '/machine/unattached/device[0]' : `/machine/peripheral/cpu${s}` } : {}) })) };
      case 'query-memory-size-summary':
        return { return: { 'base-memory': 256 * MiB, 'plugged-memory': state.pluggedMiB * MiB } };
      case 'qom-get':
        if (state.noVmem) return { error: { class: 'DeviceNotFound', desc: "Device 'vmem0' not found" } };
        return { return: (a.property === 'size' ? state.pluggedMiB : state.requestedMiB) * MiB };
      default:
        return { return: {} };
    }
  };
  const fake = await startFakeQmp((cmd, conn) => sendQmp(conn, { ...answer(cmd), id: cmd.id }), cleanups, { skipCapabilities: true });
  const qmp = await QmpClient.connect(fake.path, { timeoutMs: 2000 });
  cleanups.push(() => qmp.close());
  return { qmp, received: fake.received };
}

describe('readLiveSize', () => {
  it('counts plugged vCPUs and adds what virtio-mem plugged to the boot memory', async () => {
    const { qmp } = await fakeQemu({ sockets: [0, 2], pluggedMiB: 128, requestedMiB: 512 });
    expect(await readLiveSize(qmp)).toEqual({ cpus: 2, bootMemoryMiB: 256, virtioMem: true, memoryMiB: 384, requestedMemoryMiB: 768, sockets: [0, 2], cpuType: 'max-x86_64-cpu' });
  });

  it('says so when the QEMU has no virtio-mem device', async () => {
    const { qmp } = await fakeQemu({ sockets: [0], pluggedMiB: 0, requestedMiB: 0, noVmem: true });
    expect(await readLiveSize(qmp)).toMatchObject({ cpus: 1, memoryMiB: 256, virtioMem: false });
  });
});

describe('applySize', () => {
  it('adds vCPUs in the free sockets and asks virtio-mem for the memory above boot', async () => {
    const { qmp, received } = await fakeQemu({ sockets: [0, 2], pluggedMiB: 0, requestedMiB: 0 });
    const live = await readLiveSize(qmp);
    received.length = 0;
    await applySize(qmp, 'max', live, { cpus: 4, memoryMiB: 768 });
    expect(received.map((c) => [c.execute, c.arguments])).toEqual([
      ['device_add', { driver: 'max-x86_64-cpu', id: 'cpu1', 'socket-id': 1, 'core-id': 0, 'thread-id': 0 }],
      ['device_add', { driver: 'max-x86_64-cpu', id: 'cpu3', 'socket-id': 3, 'core-id': 0, 'thread-id': 0 }],
      ['qom-set', { path: '/machine/peripheral/vmem0', property: 'requested-size', value: 512 * MiB }],
    ]);
  });

  it('removes vCPUs from the highest socket down, never the boot vCPU, and shrinks memory', async () => {
    const { qmp, received } = await fakeQemu({ sockets: [0, 1, 3], pluggedMiB: 512, requestedMiB: 512 });
    const live = await readLiveSize(qmp);
    received.length = 0;
    await applySize(qmp, 'max', live, { cpus: 1, memoryMiB: 384 });
    expect(received.map((c) => [c.execute, c.arguments])).toEqual([
      ['device_del', { id: 'cpu3' }],
      ['device_del', { id: 'cpu1' }],
      ['qom-set', { path: '/machine/peripheral/vmem0', property: 'requested-size', value: 128 * MiB }],
    ]);
  });

  it('refuses a memory change a QEMU without virtio-mem cannot make, or one below boot memory', async () => {
    const fixed = await fakeQemu({ sockets: [0], pluggedMiB: 0, requestedMiB: 0, noVmem: true });
    await expect(applySize(fixed.qmp, 'max', await readLiveSize(fixed.qmp), { cpus: 1, memoryMiB: 512 })).rejects.toThrow(/no virtio-mem device/);
    const grown = await fakeQemu({ sockets: [0], pluggedMiB: 64, requestedMiB: 64 });
    await expect(applySize(grown.qmp, 'max', await readLiveSize(grown.qmp), { cpus: 1, memoryMiB: 128 })).rejects.toThrow(/below the 256 MiB it booted with/);
  });
});
