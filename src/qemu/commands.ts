// Typed wrappers for the QMP commands the agent uses (QAPI names and shapes
// of QEMU 7.2). Each is one execute(); errors are QmpCommandError & co.
import type { QmpClient } from './qmp-client.js';

/** QAPI RunState. */
export type RunState =
  | 'debug' | 'finish-migrate' | 'inmigrate' | 'internal-error' | 'io-error' | 'paused' | 'postmigrate'
  | 'prelaunch' | 'restore-vm' | 'running' | 'save-vm' | 'shutdown' | 'suspended' | 'watchdog' | 'guest-panicked'
  | 'colo';

export interface StatusInfo {
  status: RunState;
  running: boolean;
}

export interface BalloonInfo {
  /** Memory the guest currently has, in bytes. */
  actual: number;
}

export interface HotpluggableCpu {
  type: string;
  'vcpus-count': number;
  props: { 'socket-id'?: number; 'core-id'?: number; 'thread-id'?: number; 'node-id'?: number };
  /** Present when the CPU is plugged. */
  'qom-path'?: string;
}

export async function queryStatus(qmp: QmpClient): Promise<StatusInfo> {
  const { status, running } = await qmp.execute<StatusInfo>('query-status');
  return { status, running };
}

/** Fails with QmpCommandError class DeviceNotActive when the VM has no balloon. */
export function queryBalloon(qmp: QmpClient): Promise<BalloonInfo> {
  return qmp.execute<BalloonInfo>('query-balloon');
}

/** Asks the balloon driver to bring the guest to `bytes` of memory. */
export async function setBalloon(qmp: QmpClient, bytes: number): Promise<void> {
  await qmp.execute('balloon', { value: bytes });
}

export function queryHotpluggableCpus(qmp: QmpClient, timeoutMs?: number): Promise<HotpluggableCpu[]> {
  return qmp.execute<HotpluggableCpu[]>('query-hotpluggable-cpus', undefined, timeoutMs === undefined ? undefined : { timeoutMs });
}

/** ACPI power button: the guest decides whether and when to shut down. */
export async function systemPowerdown(qmp: QmpClient): Promise<void> {
  await qmp.execute('system_powerdown');
}

export async function systemReset(qmp: QmpClient): Promise<void> {
  await qmp.execute('system_reset');
}

/** Pauses the vCPUs. */
export async function stop(qmp: QmpClient): Promise<void> {
  await qmp.execute('stop');
}

/** Resumes the vCPUs. */
export async function cont(qmp: QmpClient): Promise<void> {
  await qmp.execute('cont');
}

/** Makes QEMU exit at once (like pulling the plug); a dropped socket counts as success. */
export function quit(qmp: QmpClient): Promise<void> {
  return qmp.quit();
}
