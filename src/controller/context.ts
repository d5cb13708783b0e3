// Everything a request handler or loop of the controller needs, built once.
import type { AddressRange } from '../core/ipv4.js';
import type { PowerDriverFactory } from '../core/power.js';
import type { Logger } from 'pino';
import type { AgentClient } from './agent-client.js';
import type { Assignments } from './assignments.js';
import type { AutomationLoop } from './automation/loop.js';
import type { HaMonitor } from './ha/monitor.js';
import type { JobRunner } from './jobs.js';
import type { LiveState } from './live-state.js';
import type { Reports } from './reports.js';
import type { ControllerSecrets } from './secrets.js';
import type { ControllerState } from './state.js';

export interface ControllerContext {
  state: ControllerState;
  live: LiveState;
  runner: JobRunner;
  agents: AgentClient;
  assignments: Assignments;
  reports: Reports;
  secrets: ControllerSecrets;
  /** The balancer and power loop (settings, passes, the latest recommendations). */
  automation: AutomationLoop;
  /** HA failover: lease watching, host verdicts, declaring hosts dead (off without --shared-pool). */
  ha: HaMonitor;
  log: Logger;
  /** Where bridged VMs without an address get one (controller flag --bridge-range). */
  bridgeRange?: AddressRange;
  /** Reaches hosts' BMCs (power fencing, drover host power); the process's main gives the real drivers (src/host/power). Absent: no BMC is reached. */
  powerDrivers?: PowerDriverFactory;
  /** Aborts when the controller shuts down (ends long polls and waits). */
  stopping: AbortSignal;
}
