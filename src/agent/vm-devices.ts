// Keeps a running VM's disks and NICs at what its assignment asks (drover vm
// disk/nic add and remove change spec.volumes and spec.nics), reports what
// is plugged, and deletes the volume files the spec no longer lists. A new
// volume file exists before this runs (the create-volumes action). The QMP
// side is src/qemu/device-hotplug.ts; the ports come from the spec.
import fs from 'node:fs';
import path from 'node:path';
import type { Logger } from 'pino';
import type { LiveDevicesReport, VmAssignment } from '../api/agent-protocol.js';
import { diskDeviceId } from '../core/device-layout.js';
import { tapName } from '../host/network.js';
import { deleteVolume } from '../host/storage.js';
import { deviceDiff, dropDiskNodes, dropNetdev, listPlugged, plugDisk, plugNic, unplugDevice, type DeviceDiff } from '../qemu/device-hotplug.js';
import type { QmpClient } from '../qemu/qmp-client.js';
import { hostNetworkOf, type AgentContext } from './agent-context.js';
import { disksOf, nicsOf } from './qemu-spec.js';
import { vmDir, vmVolumesDir } from './state-files.js';
import { addTap, dropTap } from './vm-taps.js';

/** device_del is a request to the guest: it is repeated only after this long. */
const ASK_AGAIN_MS = 10_000;
/** While the guest has devices to let go, look again this often, for at most this long. */
const RETRY_EVERY_MS = 1000;
const RETRY_FOR_MS = 120_000;

export class VmDevices {
  private error: string | undefined;
  /** When device_del was last sent, by device id. */
  private readonly asked = new Map<string, number>();
  /** NICs unplugged here whose netdev (and TAP) go once the guest has let the device go. */
  private readonly netdevsToDrop = new Set<string>();
  private retry: NodeJS.Timeout | null = null;
  private retryUntil = 0;
  private warnedForeign = false;

  constructor(
    private readonly ctx: AgentContext,
    private readonly vmId: string,
    private readonly log: Logger,
    /** Runs another pass (the supervisor converges again). */
    private readonly again: () => void,
  ) {}

  /** What is plugged now, with the last error; undefined when QEMU does not answer. */
  async report(qmp: QmpClient): Promise<LiveDevicesReport | undefined> {
    const p = await listPlugged(qmp).catch(() => undefined);
    return p && { disks: p.disks, nics: p.nics, ...(this.error ? { error: this.error } : {}) };
  }

  /** One pass. `qmp`: its running QEMU, or null when none runs (then only volume files the spec dropped are deleted). */
  async reconcile(qmp: QmpClient | null, a: VmAssignment, now = Date.now()): Promise<void> {
    if (a.power === 'absent' || a.power === 'released') return;
    if (!qmp) return this.sweepVolumes(a, []);
    if (a.power === 'stopped') return; // it is being stopped: leave its devices alone
    const plugged = await listPlugged(qmp);
    const diff = deviceDiff({ disks: disksOf(a, this.ctx.paths), nics: nicsOf(a, hostNetworkOf(this.ctx)) }, plugged);
    if (diff.foreign.length) return this.warnForeign(diff.foreign);
    const errors = await this.apply(qmp, diff, plugged.nodes, now);
    this.error = errors.length ? errors.join('; ') : undefined;
    if (this.error) this.log.warn(this.error);
    await this.sweepVolumes(a, plugged.nodes);
    const waiting = diff.removeDisks.length + diff.removeNics.length + diff.dropNodes.length + this.netdevsToDrop.size > 0;
    if (waiting) this.retrySoon(now);
    else this.retryUntil = 0;
  }

  /** A new QEMU starts with the assignment's devices: forget what was asked of the old one. */
  reset(): void {
    this.stop();
    this.asked.clear();
    this.netdevsToDrop.clear();
    this.error = undefined;
  }

  stop(): void {
    if (this.retry) clearTimeout(this.retry);
    this.retry = null;
    this.retryUntil = 0;
  }

  /** Cleans up first (nodes and netdevs of devices the guest let go), then plugs, then asks for unplugs. Returns the errors. */
  private async apply(qmp: QmpClient, diff: DeviceDiff, nodes: readonly string[], now: number): Promise<string[]> {
    const errors: string[] = [];
    const step = async (what: string, fn: () => Promise<void>): Promise<void> => {
      await fn().catch((err: Error) => errors.push(`cannot ${what}: ${err.message}`));
    };
    for (const id of diff.dropNodes) await step(`delete the block nodes of disk ${id}`, () => dropDiskNodes(qmp, id, nodes));
    for (const id of [...this.netdevsToDrop]) {
      if (diff.removeNics.includes(id)) continue; // the guest still holds it
      await step(`delete the netdev of NIC ${id}`, async () => {
        await dropNetdev(qmp, id);
        await dropTap(vmDir(this.ctx.paths, this.vmId), tapName(this.vmId, Number(id.slice(3))));
        this.netdevsToDrop.delete(id);
      });
    }
    for (const d of diff.addDisks) await step(`plug disk ${d.id}`, () => plugDisk(qmp, d, nodes, this.ctx.caps.odirect(path.dirname(d.path))));
    for (const n of diff.addNics) {
      await step(`plug NIC ${n.id}`, async () => {
        if (n.mode === 'tap') await addTap(vmDir(this.ctx.paths, this.vmId), n.ifname, n.bridge);
        await plugNic(qmp, n);
      });
    }
    for (const id of [...diff.removeDisks, ...diff.removeNics]) {
      if (now - (this.asked.get(id) ?? -Infinity) < ASK_AGAIN_MS) continue;
      this.asked.set(id, now);
      if (diff.removeNics.includes(id)) this.netdevsToDrop.add(id);
      this.log.info({ device: id }, 'asking the guest to let the device go');
      await step(`unplug ${id}`, () => unplugDevice(qmp, id));
    }
    const added = [...diff.addDisks.map((d) => d.id), ...diff.addNics.map((n) => n.id)];
    if (added.length && errors.length === 0) this.log.info({ added }, 'plugged');
    return errors;
  }

  /** Deletes the VM's volume files that its spec no longer lists (drover vm disk remove --delete), once QEMU has closed them. */
  private async sweepVolumes(a: VmAssignment, nodes: readonly string[]): Promise<void> {
    let dir: string;
    let names: string[];
    try {
      dir = vmVolumesDir(this.ctx.paths, a.id, a.spec.storage ?? 'local');
      names = fs.readdirSync(dir);
    } catch {
      return;
    }
    const listed = new Set(a.spec.volumes.map((v) => `${v.id}.qcow2`));
    for (const name of names) {
      if (!name.endsWith('.qcow2') || listed.has(name)) continue;
      if (nodes.includes(`file-${diskDeviceId(a.id, name.slice(0, -'.qcow2'.length))}`)) continue; // still open
      await deleteVolume(path.join(dir, name));
      this.log.info({ file: name }, 'deleted a volume its spec no longer lists');
    }
  }

  private retrySoon(now: number): void {
    if (this.retry) return;
    if (this.retryUntil === 0) this.retryUntil = now + RETRY_FOR_MS;
    if (now > this.retryUntil) return;
    this.retry = setTimeout(() => {
      this.retry = null;
      this.again();
    }, RETRY_EVERY_MS);
    this.retry.unref();
  }

  private warnForeign(ids: string[]): void {
    if (this.warnedForeign) return;
    this.warnedForeign = true;
    this.log.warn({ devices: ids }, 'its QEMU was started with device ids of an older agent; its disks and NICs follow the spec from its next start');
  }
}
