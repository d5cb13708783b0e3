// What every VM supervisor of the agent shares: the host's paths, QEMU
// capabilities and network, and the callbacks into the agent.
import type { Logger } from 'pino';
import type { CgroupDetection } from '../host/cgroups.js';
import type { HostCapsResolved } from '../qemu/vm-spec.js';
import type { HaGate } from './ha.js';
import type { HostNetwork } from './qemu-spec.js';
import type { AgentPaths } from './state-files.js';

export interface AgentContext {
  paths: AgentPaths;
  imagesDir: string;
  /** Where port forwards without an address listen (default 127.0.0.1). */
  forwardAddress?: string;
  /** The bridge bridged VMs attach to (agent flag --bridge). */
  bridge?: string;
  caps: HostCapsResolved;
  stopGraceMs: number;
  log: Logger;
  /** Something observable changed: report soon. */
  changed(): void;
  /** The VM was deleted for 'absent': forget it. */
  removed(vmId: string): void;
  /** Asked before a QEMU starts: HA VMs start only while the host's lease is fresh (absent: no check). */
  haGate?: HaGate;
  /** Where VM cgroups go for CPU and memory limits, or why there are none (detected once at start; absent: none). */
  cgroups?: CgroupDetection;
}

export function hostNetworkOf(ctx: AgentContext): HostNetwork {
  return { forwardAddress: ctx.forwardAddress ?? '127.0.0.1', ...(ctx.bridge ? { bridge: ctx.bridge } : {}) };
}
