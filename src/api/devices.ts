// Requests that add and remove a VM's disks and NICs (docs/resize.md, "Disks
// and NICs"): live while it runs (hotplug), in its spec while it is stopped.
import { Type, type Static } from 'typebox';
import { VM_LIMITS } from '../core/vm-limits.js';

export const DiskParams = Type.Object({ name: Type.String(), id: Type.String({ description: 'the volume id, its short name (data1) or its device id (disk-data1)' }) });
export const NicParams = Type.Object({ name: Type.String(), id: Type.String({ description: 'net1, net2, ...' }) });

/** POST /v1/vms/:name/disks: a new blank data disk of sizeBytes, or a detached volume of the VM attached again. */
export const AddDiskRequest = Type.Object({
  sizeBytes: Type.Optional(Type.Integer({ minimum: VM_LIMITS.minDiskBytes, maximum: 64 * 1024 ** 4, description: 'size of a new blank data disk' })),
  volume: Type.Optional(Type.String({ minLength: 1, description: 'a detached volume of this VM to attach again (its id or short name)' })),
});
export type AddDiskRequest = Static<typeof AddDiskRequest>;

/** DELETE /v1/vms/:name/disks/:id: detach the disk (its volume stays with the VM), or with delete also delete the volume. */
export const RemoveDiskQuery = Type.Object({
  delete: Type.Optional(Type.Boolean({ description: 'delete the volume and its data too (default: keep it, detached)' })),
});
export type RemoveDiskQuery = Static<typeof RemoveDiskQuery>;

/** POST /v1/vms/:name/nics: a NIC on user-mode NAT (no port forwards), or on its host's bridge. */
export const AddNicRequest = Type.Object({
  network: Type.Optional(Type.Union([Type.Literal('user'), Type.Literal('bridge')], { description: 'user (default) or bridge (its host\'s bridge, agent flag --bridge)' })),
});
export type AddNicRequest = Static<typeof AddNicRequest>;
