// A host's BMC on the wire: PUT/GET/DELETE /v1/hosts/:name/power (the
// settings; the password is write-only) and the manual actions
// (/power/status, /power/off, /power/on). The schema checks shapes; the
// controller checks the address and lengths per driver
// (checkPowerSettings in src/core/power.ts) and names the field at fault.
import { Type, type Static } from 'typebox';
import { POWER_DRIVERS, POWER_LIMITS, type PowerDriverName, type PowerState } from '../core/power.js';
import { IsoTime, Name } from './resources.js';

export const PowerDriverNameSchema = Type.Unsafe<PowerDriverName>(Type.Union(POWER_DRIVERS.map((d) => Type.Literal(d)), {
  description: 'redfish: the BMC\'s Redfish service over HTTPS/HTTP; ipmi: IPMI v2 (lanplus) through ipmitool on the controller\'s machine',
}));
export const PowerStateSchema = Type.Unsafe<PowerState>(Type.Union([Type.Literal('on'), Type.Literal('off'), Type.Literal('unknown')]));

export const HostPowerRequest = Type.Object({
  driver: PowerDriverNameSchema,
  address: Type.String({ minLength: 1, maxLength: 300, description: 'redfish: https://bmc[:port] (or .../redfish/v1/Systems/ID when the BMC has several systems); ipmi: host[:port]' }),
  username: Type.String({ minLength: 1, maxLength: POWER_LIMITS.user, description: 'the BMC user' }),
  password: Type.Optional(Type.String({ maxLength: POWER_LIMITS.password, description: 'the BMC password: write-only, stored sealed, never returned; left out, the stored one is kept' })),
  insecure: Type.Optional(Type.Boolean({ description: 'redfish over https: accept a self-signed BMC certificate (default false)' })),
});
export type HostPowerRequest = Static<typeof HostPowerRequest>;

export const HostPowerSettings = Type.Object({
  host: Name,
  driver: PowerDriverNameSchema,
  address: Type.String(),
  username: Type.String(),
  insecure: Type.Boolean(),
  /** Always true for stored settings: the password itself is never returned. */
  passwordSet: Type.Boolean(),
  fencing: Type.Object({
    on: Type.Boolean({ description: 'the failover loop powers the host off when it is suspected (silent, its lease not renewed lately)' }),
    reason: Type.Optional(Type.String({ description: 'why it is off' })),
  }),
  createdAt: IsoTime,
  updatedAt: IsoTime,
});
export type HostPowerSettings = Static<typeof HostPowerSettings>;

export const HostPowerOffRequest = Type.Object({
  force: Type.Optional(Type.Boolean({ description: 'power off even though VMs are placed on the host (they die with it)' })),
});

export const HostPowerState = Type.Object({
  host: Name,
  driver: PowerDriverNameSchema,
  address: Type.String(),
  state: PowerStateSchema,
  message: Type.String(),
});
export type HostPowerState = Static<typeof HostPowerState>;
