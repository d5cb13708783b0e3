// A host's BMC settings (PUT/GET/DELETE /v1/hosts/:name/power): checked
// with checkPowerSettings (src/core/power.ts), stored as a `host-power`
// record by host id with the password sealed (secrets.ts), never returned.
// A PUT without a password keeps the stored one. powerDriverOf() gives the
// driver of a host for power fencing (ha/power-fence.ts) and the manual
// actions (host-power-actions.ts).
import { ApiError, ErrorCode } from '../api/errors.js';
import type { HostPowerRequest, HostPowerSettings } from '../api/power.js';
import { bmcLabel, checkPowerSettings, PowerSettingsError, type CheckedPowerSettings, type PowerDriver } from '../core/power.js';
import type { ControllerContext } from './context.js';
import type { EventDraft } from './events.js';
import { KIND, nowIso, type HostPowerRecord, type HostRecord } from './records.js';
import { openSecret, sealSecret } from './secrets.js';
import { createOp, deleteOp, putOp, retryOnConflict, type Versioned } from './state.js';

/** What seals a host's BMC password to its record. */
const sealContext = (hostId: string) => `host-power:${hostId}`;

export function getPowerRecord(ctx: ControllerContext, hostId: string): Promise<Versioned<HostPowerRecord> | undefined> {
  return ctx.state.store.get<HostPowerRecord>(KIND.hostPower, hostId);
}

export async function mustGetPowerRecord(ctx: ControllerContext, host: HostRecord): Promise<HostPowerRecord> {
  const rec = await getPowerRecord(ctx, host.id);
  if (!rec) throw new ApiError(ErrorCode.notFound, `host ${host.name} has no BMC set; set one: drover host power set ${host.name} --driver redfish --address https://BMC --user USER --password-file FILE`, 'name');
  return rec.data;
}

/** Whether the failover loop powers hosts off (the same for every host with a BMC), and why not. */
export function fencingOf(ctx: ControllerContext): HostPowerSettings['fencing'] {
  if (!ctx.powerDrivers) return { on: false, reason: 'this controller was started without power drivers' };
  if (!ctx.ha.enabled) return { on: false, reason: 'HA failover is off (the controller runs without --shared-pool): manual power actions only' };
  return { on: true };
}

export function toApiPower(ctx: ControllerContext, host: HostRecord, rec: HostPowerRecord): HostPowerSettings {
  return { host: host.name, driver: rec.driver, address: rec.address, username: rec.username, insecure: rec.insecure, passwordSet: true, fencing: fencingOf(ctx), createdAt: rec.createdAt, updatedAt: rec.updatedAt };
}

/** The checked settings, or an `invalid` ApiError naming the field. */
function checked(req: HostPowerRequest, hasPassword: boolean): CheckedPowerSettings {
  try {
    return checkPowerSettings(req, hasPassword);
  } catch (err) {
    if (err instanceof PowerSettingsError) throw new ApiError(ErrorCode.invalid, err.message, err.field, err.allowed);
    throw err;
  }
}

function powerEvent(host: HostRecord, message: string, data: Record<string, unknown>): EventDraft {
  return { kind: 'host.power', resource: host.name, message: `host ${host.name}: ${message}`, data: { id: host.id, ...data } };
}

export async function setHostPower(ctx: ControllerContext, host: HostRecord, req: HostPowerRequest): Promise<HostPowerRecord> {
  return retryOnConflict(async () => {
    const current = await getPowerRecord(ctx, host.id);
    const s = checked(req, current !== undefined);
    const at = nowIso();
    const passwordSealed = req.password !== undefined ? sealSecret(ctx.secrets.credentialKey, req.password, sealContext(host.id)) : current!.data.passwordSealed;
    const next: HostPowerRecord = { hostId: host.id, ...s, passwordSealed, createdAt: current?.data.createdAt ?? at, updatedAt: at };
    const op = current ? putOp(KIND.hostPower, host.id, next, current.rev) : createOp(KIND.hostPower, host.id, next);
    const fencing = fencingOf(ctx);
    const what = `BMC set: ${bmcLabel(s)} (user ${s.username}${s.insecure ? ', certificate not checked' : ''}${req.password === undefined ? ', password kept' : ''}); power fencing ${fencing.on ? 'on' : `off: ${fencing.reason}`}`;
    await ctx.state.commit([op], [powerEvent(host, what, { driver: s.driver, address: s.address, username: s.username })]);
    return next;
  });
}

export async function deleteHostPower(ctx: ControllerContext, host: HostRecord): Promise<HostPowerRecord> {
  const rec = await mustGetPowerRecord(ctx, host);
  await ctx.state.commit([deleteOp(KIND.hostPower, host.id)], [powerEvent(host, `BMC settings removed (${bmcLabel(rec)}): no power fencing of it any more`, { removed: true })]);
  return rec;
}

/** The driver of the host's BMC; an `unavailable` ApiError when this controller has no power drivers. */
export function powerDriverOf(ctx: ControllerContext, host: HostRecord, rec: HostPowerRecord): PowerDriver {
  if (!ctx.powerDrivers) throw new ApiError(ErrorCode.unavailable, 'this controller was started without power drivers: it cannot reach BMCs');
  let password: string;
  try {
    password = openSecret(ctx.secrets.credentialKey, rec.passwordSealed, sealContext(host.id));
  } catch (err) {
    throw new ApiError(ErrorCode.unavailable, `the stored BMC password of host ${host.name} cannot be opened with this controller's credential key (${(err as Error).message}): set it again with drover host power set ${host.name} ... --password-file FILE`);
  }
  return ctx.powerDrivers({ hostName: host.name, driver: rec.driver, address: rec.address, username: rec.username, password, insecure: rec.insecure });
}
