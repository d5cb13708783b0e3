// POST/DELETE /v1/vms/:name/disks and /v1/vms/:name/nics: checks the change
// (core/device-change.ts) and starts a device job (job-kinds/vm-devices.ts)
// that writes the new spec and waits until the host agent has the devices
// plugged. A running VM gets them hot-plugged on free root ports; a stopped
// one has them from its next start. A refusal changes nothing.
import { ApiError, ErrorCode } from '../api/errors.js';
import type { AddDiskRequest, AddNicRequest } from '../api/devices.js';
import type { Vm, VmNic, VolumeRef } from '../api/resources.js';
import { findVolume, nextNicId, planAddDisk, planAddNic, planRemoveDisk, planRemoveNic, type DeviceVerdict, type DeviceVm } from '../core/device-change.js';
import type { ControllerContext } from './context.js';
import { KIND, type DeviceSpecFields, type JobRecord, type VmRecord } from './records.js';
import { createOp } from './state.js';
import { randomMac } from './vm-create.js';
import { mustFindVm, toApiVm } from './vm-ops.js';

/** Job kinds of the device changes; one runs at a time per VM. */
export const DEVICE_JOB_KINDS = ['vm.disk-add', 'vm.disk-remove', 'vm.nic-add', 'vm.nic-remove'] as const;
export type DeviceJobKind = (typeof DEVICE_JOB_KINDS)[number];

/** Phases in which disks and NICs can change: live while its QEMU runs, in its spec while it is stopped. */
const CHANGEABLE = ['Running', 'Paused', 'Stopped', 'Failed'] as const;

type Verdict = DeviceVerdict<VolumeRef, VmNic>;

export function isLive(vm: Pick<VmRecord, 'phase'>): boolean {
  return vm.phase === 'Running' || vm.phase === 'Paused';
}

export function deviceVmOf(vm: VmRecord): DeviceVm<VolumeRef, VmNic> {
  return { id: vm.id, name: vm.name, live: isLive(vm), spec: deviceFieldsOf(vm.spec) };
}

/** The disk and NIC fields of a spec, always in one key order (job params and specs are compared as JSON). */
export function deviceFieldsOf(spec: DeviceSpecFields): DeviceSpecFields {
  return { volumes: spec.volumes, ...(spec.nics ? { nics: spec.nics } : {}), ...(spec.rootPorts ? { rootPorts: spec.rootPorts } : {}) };
}

/** The spec with its disk and NIC fields replaced (fields absent from `fields` are dropped). */
export function withDeviceFields(spec: VmRecord['spec'], fields: DeviceSpecFields): VmRecord['spec'] {
  const { volumes: _v, nics: _n, rootPorts: _r, ...rest } = spec;
  return { ...rest, ...fields };
}

export async function requestAddDisk(ctx: ControllerContext, name: string, req: AddDiskRequest): Promise<{ vm: Vm; job: JobRecord }> {
  const vm = await changeableVm(ctx, name);
  if (req.sizeBytes !== undefined && req.volume !== undefined) throw new ApiError(ErrorCode.invalid, 'give sizeBytes for a new blank disk or volume to attach a detached one, not both', 'volume', 'absent with sizeBytes');
  if (req.sizeBytes === undefined && req.volume === undefined) throw new ApiError(ErrorCode.invalid, 'nothing to add: give sizeBytes (--size) for a new blank disk, or volume (--volume) to attach a detached volume of the VM', 'sizeBytes', 'a size of at least 1 MiB');
  const add: { volume: VolumeRef } | { attach: string } = req.volume !== undefined ? { attach: req.volume } : { volume: { id: newVolumeId(vm), role: 'data', sizeBytes: req.sizeBytes! } };
  return startDeviceJob(ctx, vm, 'vm.disk-add', planAddDisk(deviceVmOf(vm), add));
}

export async function requestRemoveDisk(ctx: ControllerContext, name: string, disk: string, del: boolean): Promise<{ vm: Vm; job: JobRecord }> {
  const vm = await changeableVm(ctx, name);
  if (findVolume(vm.id, vm.spec.volumes, disk)?.detached !== true) refuseWhilePaused(vm);
  return startDeviceJob(ctx, vm, 'vm.disk-remove', planRemoveDisk(deviceVmOf(vm), disk, del));
}

export async function requestAddNic(ctx: ControllerContext, name: string, req: AddNicRequest): Promise<{ vm: Vm; job: JobRecord }> {
  const vm = await changeableVm(ctx, name);
  const network = req.network ?? 'user';
  if (network === 'bridge') await checkBridge(ctx, vm);
  const id = nextNicId(vm.spec.nics) ?? 'net1';
  return startDeviceJob(ctx, vm, 'vm.nic-add', planAddNic(deviceVmOf(vm), { id, mac: randomMac(), network }));
}

export async function requestRemoveNic(ctx: ControllerContext, name: string, nic: string): Promise<{ vm: Vm; job: JobRecord }> {
  const vm = await changeableVm(ctx, name);
  refuseWhilePaused(vm);
  return startDeviceJob(ctx, vm, 'vm.nic-remove', planRemoveNic(deviceVmOf(vm), nic));
}

async function changeableVm(ctx: ControllerContext, name: string): Promise<VmRecord> {
  const vm = await mustFindVm(ctx.state, name);
  if (vm.migration) throw new ApiError(ErrorCode.conflict, `VM ${vm.name} is migrating (migration ${vm.migration.id}); change its disks and NICs once the migration has ended`);
  if (vm.removing || vm.phase === 'Deleting') throw new ApiError(ErrorCode.conflict, `VM ${vm.name} is being deleted`);
  if (!(CHANGEABLE as readonly string[]).includes(vm.phase)) throw new ApiError(ErrorCode.conflict, `VM ${vm.name} is ${vm.phase}; disks and NICs change while it is Running or Paused (live) or Stopped (from its next start)`);
  const pending = (await ctx.state.listJobs()).find((j) => (DEVICE_JOB_KINDS as readonly string[]).includes(j.data.kind) && j.data.state === 'running' && j.data.params.vmId === vm.id);
  if (pending) throw new ApiError(ErrorCode.conflict, `VM ${vm.name} has a disk or NIC change under way (job ${pending.id}); wait for it`);
  return vm;
}

/** Unplugging asks the guest, and a paused guest cannot answer. */
function refuseWhilePaused(vm: VmRecord): void {
  if (vm.phase === 'Paused') throw new ApiError(ErrorCode.conflict, `VM ${vm.name} is Paused: a paused guest cannot let a device go; resume it first (a stopped VM takes the change at once)`);
}

/** A bridged NIC needs a bridge on the VM's host (agent flag --bridge). */
async function checkBridge(ctx: ControllerContext, vm: VmRecord): Promise<void> {
  const host = vm.hostId ? (await ctx.state.getHost(vm.hostId))?.data : undefined;
  if (host && !host.inventory?.bridge) throw new ApiError(ErrorCode.invalid, `host ${host.name} of VM ${vm.name} has no bridge for bridged NICs (agent flag --bridge)`, 'network', 'user');
}

/** <vm id>-dataN with the lowest N no volume of the VM has. */
function newVolumeId(vm: VmRecord): string {
  const ids = new Set(vm.spec.volumes.map((v) => v.id));
  let n = 1;
  while (ids.has(`${vm.id}-data${n}`)) n++;
  return `${vm.id}-data${n}`;
}

async function startDeviceJob(ctx: ControllerContext, vm: VmRecord, kind: DeviceJobKind, verdict: Verdict): Promise<{ vm: Vm; job: JobRecord }> {
  if (!verdict.ok) throw new ApiError(verdict.field === 'disks' || verdict.field === 'nics' ? ErrorCode.conflict : ErrorCode.invalid, verdict.message, verdict.field, verdict.allowed);
  const job = ctx.runner.newJob(kind, vm.name, { vmId: vm.id, devices: { summary: verdict.summary, live: isLive(vm), from: deviceFieldsOf(vm.spec), to: deviceFieldsOf(verdict.spec) } });
  await ctx.state.commit([createOp(KIND.job, job.id, job)]);
  ctx.runner.start(job);
  return { vm: toApiVm(vm, ctx.live), job };
}
