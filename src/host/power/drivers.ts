// The power drivers by name: what the controller process is given (its
// main.ts) to reach hosts' BMCs for power fencing and `drover host power`.
import type { PowerDriver, PowerDriverFactory, PowerTarget } from '../../core/power.js';
import { DEFAULT_CALL_POLICY, type CallPolicy } from './call-policy.js';
import { IpmiDriver } from './ipmi.js';
import { RedfishDriver } from './redfish.js';

export { DEFAULT_CALL_POLICY, PowerDriverError, type CallPolicy } from './call-policy.js';
export { IpmiDriver } from './ipmi.js';
export { RedfishDriver } from './redfish.js';

export function powerDriverFor(target: PowerTarget, policy: Partial<CallPolicy> = {}): PowerDriver {
  const p = { ...DEFAULT_CALL_POLICY, ...policy };
  return target.driver === 'redfish' ? new RedfishDriver(target, p) : new IpmiDriver(target, p);
}

/** A factory with one call policy for every host. */
export function powerDriverFactory(policy: Partial<CallPolicy> = {}): PowerDriverFactory {
  return (target) => powerDriverFor(target, policy);
}
