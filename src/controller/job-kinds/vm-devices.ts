// vm.disk-add, vm.disk-remove, vm.nic-add, vm.nic-remove: write the VM's new
// disk and NIC fields (checked by vm-devices.ts) into its spec, then wait
// until its host agent reports exactly the spec's devices plugged. A stopped
// VM is done once the spec is written. A change that fails (QEMU refuses, the
// guest never releases a device) puts the fields from before back, so the
// agent returns the VM to the devices it had.
import { ApiError, ErrorCode } from '../../api/errors.js';
import { devicesMatch } from '../device-state.js';
import type { EventDraft } from '../events.js';
import type { JobKind, StepContext } from '../jobs.js';
import { KIND, nowIso, type DeviceSpecFields, type JobParams, type VmRecord } from '../records.js';
import { putOp, retryOnConflict } from '../state.js';
import { DEVICE_JOB_KINDS, deviceFieldsOf, isLive, withDeviceFields } from '../vm-devices.js';
import { vmIdOf, waitVm } from './vm-steps.js';

/** How long the guest may take to take up (or release) a device. */
export const DEVICES_WAIT_MS = 90_000;

export function vmDeviceKinds(waitMs = DEVICES_WAIT_MS): JobKind[] {
  return DEVICE_JOB_KINDS.map((kind) => ({
    kind,
    steps: () => [
      { name: 'request', run: (s: StepContext) => writeDevices(s) },
      { name: 'wait', run: (s: StepContext) => waitPlugged(s, waitMs) },
    ],
    rollback: (s: StepContext) => restoreDevices(s),
  }));
}

function changeOf(s: StepContext): NonNullable<JobParams['devices']> {
  const change = s.job.params.devices;
  if (!change) throw new Error(`job ${s.job.id} has no device change`);
  return change;
}

function same(a: DeviceSpecFields, b: DeviceSpecFields): boolean {
  return JSON.stringify(deviceFieldsOf(a)) === JSON.stringify(deviceFieldsOf(b));
}

function devicesEvent(vm: VmRecord, message: string): EventDraft {
  return { kind: 'vm.devices', resource: vm.name, message: `VM ${vm.name}: ${message}`, data: { id: vm.id, volumes: vm.spec.volumes.map((v) => v.id), nics: (vm.spec.nics ?? []).map((n) => n.id) } };
}

/** Writes the new fields, unless the VM changed since the request was checked (then the caller asks again). */
async function writeDevices(s: StepContext): Promise<void> {
  const change = changeOf(s);
  await retryOnConflict(async () => {
    const current = await s.state.mustGetVm(vmIdOf(s));
    const vm = current.data;
    const fields = vm.spec;
    if (same(fields, change.to)) return; // written before a restart
    if (vm.migration) throw new ApiError(ErrorCode.conflict, `VM ${vm.name} is migrating (migration ${vm.migration.id}); change its disks and NICs once the migration has ended`);
    if (!same(fields, change.from) || isLive(vm) !== change.live) {
      throw new ApiError(ErrorCode.conflict, `VM ${vm.name} changed since the request was checked (now ${vm.phase}); ask again`);
    }
    const next: VmRecord = { ...vm, spec: withDeviceFields(vm.spec, change.to), agentError: undefined, updatedAt: nowIso() };
    await s.state.commit([putOp(KIND.vm, vm.id, next, current.rev)], [devicesEvent(next, change.summary)]);
  });
}

/** Waits until the agent reports the spec's devices plugged (only while a QEMU runs; a stopped VM is done). */
async function waitPlugged(s: StepContext, waitMs: number): Promise<void> {
  const change = changeOf(s);
  await waitVm(s, 'to have its disks and NICs plugged as asked', waitMs, (vm) => {
    if (!isLive(vm)) return true;
    if (!same(vm.spec, change.to)) throw new ApiError(ErrorCode.conflict, `superseded: the disks or NICs of VM ${vm.name} were changed again`);
    const match = devicesMatch(vm);
    const error = vm.observed?.devices?.error;
    if (error && match === false) throw new ApiError(ErrorCode.unavailable, error);
    return match === true;
  });
}

/** Puts the fields from before back, if the spec still holds the ones this job wrote. */
async function restoreDevices(s: StepContext): Promise<void> {
  const change = s.job.params.devices;
  if (!change) return;
  await retryOnConflict(async () => {
    const current = await s.state.getVm(vmIdOf(s));
    if (!current) return;
    const vm = current.data;
    if (!same(vm.spec, change.to)) return;
    const next: VmRecord = { ...vm, spec: withDeviceFields(vm.spec, change.from), updatedAt: nowIso() };
    await s.state.commit([putOp(KIND.vm, vm.id, next, current.rev)], [devicesEvent(next, `${change.summary} failed: back to the disks and NICs it had`)]);
  });
}
