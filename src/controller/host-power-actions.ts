// The manual power actions of an admin (drover host power status|off|on):
// they ask the host's BMC through its driver and answer with the power
// state read afterwards. Powering off a host that VMs are placed on is
// refused unless `force`: they die with it (HA ones are then restarted
// elsewhere by failover once the host is found silent and powered off).
import { ApiError, ErrorCode } from '../api/errors.js';
import type { HostPowerState } from '../api/power.js';
import { bmcLabel, type PowerDriver, type PowerState } from '../core/power.js';
import type { ControllerContext } from './context.js';
import { mustGetPowerRecord, powerDriverOf } from './host-power.js';
import { holdsMemory } from './placement.js';
import type { HostPowerRecord, HostRecord } from './records.js';

/** A BMC that failed: `unavailable`, with the driver's message (it names the host and the BMC). */
async function viaBmc<T>(call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (err) {
    if (err instanceof ApiError) throw err;
    throw new ApiError(ErrorCode.unavailable, (err as Error).message);
  }
}

function answer(host: HostRecord, rec: HostPowerRecord, state: PowerState, message: string): HostPowerState {
  return { host: host.name, driver: rec.driver, address: rec.address, state, message };
}

async function withDriver(ctx: ControllerContext, host: HostRecord): Promise<{ rec: HostPowerRecord; driver: PowerDriver }> {
  const rec = await mustGetPowerRecord(ctx, host);
  return { rec, driver: powerDriverOf(ctx, host, rec) };
}

export async function hostPowerStatus(ctx: ControllerContext, host: HostRecord): Promise<HostPowerState> {
  const { rec, driver } = await withDriver(ctx, host);
  const state = await viaBmc(() => driver.status());
  return answer(host, rec, state, `host ${host.name} is powered ${state === 'unknown' ? 'in an unknown state' : state} (${bmcLabel(rec)})`);
}

export async function hostPowerOff(ctx: ControllerContext, host: HostRecord, force: boolean): Promise<HostPowerState> {
  const { rec, driver } = await withDriver(ctx, host);
  const placed = (await ctx.state.vmsOnHost(host.id)).filter((v) => holdsMemory(v.data));
  if (placed.length > 0 && !force) {
    const names = placed.slice(0, 10).map((v) => v.data.name).join(', ');
    throw new ApiError(ErrorCode.conflict, `host ${host.name} has ${placed.length} VM(s) placed on it (${names}): powering it off kills them; move them first (drover host maintenance ${host.name}) or give force (drover host power off ${host.name} --force)`, 'force');
  }
  await viaBmc(() => driver.powerOff());
  const state = await viaBmc(() => driver.status());
  ctx.state.events.publish({ kind: 'host.power', resource: host.name, message: `host ${host.name}: powered off through its BMC (${bmcLabel(rec)}) on an admin's request; it now says ${state}`, data: { id: host.id, action: 'off', state } });
  return answer(host, rec, state, `host ${host.name} powered off (hard) through ${bmcLabel(rec)}; the BMC says ${state}`);
}

export async function hostPowerOn(ctx: ControllerContext, host: HostRecord): Promise<HostPowerState> {
  const { rec, driver } = await withDriver(ctx, host);
  await viaBmc(() => driver.powerOn());
  const state = await viaBmc(() => driver.status());
  ctx.state.events.publish({ kind: 'host.power', resource: host.name, message: `host ${host.name}: powered on through its BMC (${bmcLabel(rec)}) on an admin's request; it now says ${state}`, data: { id: host.id, action: 'on', state } });
  return answer(host, rec, state, `host ${host.name} powered on through ${bmcLabel(rec)}; the BMC says ${state}; its agent reports once the machine has booted`);
}
