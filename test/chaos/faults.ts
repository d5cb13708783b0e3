// The faults a chaos round injects (docs/failover.md, "Chaos"): the cases of
// the HA fault suite, on a real testbed. Each says whether it may fail the
// hosts it hits over (then their HA VMs must run again elsewhere, once) or
// must not (then nothing may move), and how long it lasts before it is undone.
import { cutLink, cutStorage, freezeAgent, killController, restartController, restoreHost, restoreStorage, stopHost, thawAgent } from '../../src/testbed/faults.js';
import type { TestbedState } from '../../src/testbed/testbed.js';

export const FAULT_NAMES = ['kill-host', 'freeze-agent', 'cut-storage', 'cut-link', 'flap', 'kill-controller', 'kill-controller-in-failover', 'kill-two-hosts'] as const;
export type FaultName = (typeof FAULT_NAMES)[number];

export interface FaultContext {
  tb: TestbedState;
  /** Hosts the fault hits (one, or two for kill-two-hosts). */
  targets: string[];
  sleep(ms: number): Promise<void>;
  /** Resolves once the controller declared one of the targets dead (its failover job exists). */
  failoverStarted(): Promise<void>;
  /** Resolves once a failover job of this round has ended (or after `capMs`): the fault may be undone then. */
  failoverEnded(capMs: number): Promise<void>;
}

export interface Fault {
  name: FaultName;
  /** How many hosts it hits. */
  hosts: number;
  /** Needs the namespace testbed (root): link and storage cuts. */
  netns: boolean;
  /** Whether the hit hosts are (must be) failed over: their HA VMs run again elsewhere exactly once. Otherwise nothing may move. */
  failover: boolean;
  /** Injects the fault, waits while it lasts, and undoes it (the round then waits for the cluster to settle). */
  run(c: FaultContext): Promise<void>;
}

const each = async (c: FaultContext, fn: (name: string) => Promise<unknown>) => {
  for (const t of c.targets) await fn(t);
};

/** Long enough past the lease expiry (6.25 s at the default 1 s I/O timeout) for any failover to have happened. */
const PAST_EXPIRY_MS = 15_000;
/** A fault that fails its host over lasts until the failover ended, at most this long. */
const FAILOVER_CAP_MS = 60_000;

export const FAULTS: Record<FaultName, Fault> = {
  'kill-host': {
    name: 'kill-host', hosts: 1, netns: false, failover: true,
    async run(c) {
      await each(c, (h) => stopHost(c.tb, h));
      await c.failoverEnded(FAILOVER_CAP_MS);
      await each(c, (h) => restoreHost(c.tb, h));
    },
  },
  'kill-two-hosts': {
    name: 'kill-two-hosts', hosts: 2, netns: false, failover: true,
    async run(c) {
      await Promise.all(c.targets.map((h) => stopHost(c.tb, h)));
      await c.failoverEnded(FAILOVER_CAP_MS);
      await each(c, (h) => restoreHost(c.tb, h));
    },
  },
  'freeze-agent': {
    name: 'freeze-agent', hosts: 1, netns: false, failover: true,
    async run(c) {
      await each(c, async (h) => freezeAgent(c.tb, h));
      try {
        await c.failoverEnded(FAILOVER_CAP_MS);
      } finally {
        await each(c, async (h) => thawAgent(c.tb, h));
      }
    },
  },
  'cut-storage': {
    name: 'cut-storage', hosts: 1, netns: true, failover: true,
    async run(c) {
      await each(c, (h) => cutStorage(c.tb, h));
      try {
        await c.failoverEnded(FAILOVER_CAP_MS);
      } finally {
        await each(c, (h) => restoreStorage(c.tb, h));
      }
    },
  },
  'cut-link': {
    // Cut from the controller, not from storage: isolated, never failed over.
    name: 'cut-link', hosts: 1, netns: true, failover: false,
    async run(c) {
      await each(c, (h) => cutLink(c.tb, h));
      try {
        await c.sleep(PAST_EXPIRY_MS);
      } finally {
        await each(c, (h) => restoreHost(c.tb, h));
      }
    },
  },
  flap: {
    name: 'flap', hosts: 1, netns: true, failover: false,
    async run(c) {
      for (let i = 0; i < 3; i++) {
        await each(c, (h) => cutLink(c.tb, h));
        await c.sleep(2000);
        await each(c, (h) => restoreHost(c.tb, h));
        await c.sleep(2000);
      }
    },
  },
  'kill-controller': {
    // The controller alone crashes: nothing may move.
    name: 'kill-controller', hosts: 0, netns: false, failover: false,
    async run(c) {
      await killController(c.tb);
      await c.sleep(3000);
      await restartController(c.tb);
    },
  },
  'kill-controller-in-failover': {
    name: 'kill-controller-in-failover', hosts: 1, netns: false, failover: true,
    async run(c) {
      await each(c, (h) => stopHost(c.tb, h));
      await c.failoverStarted();
      await killController(c.tb);
      await c.sleep(1000);
      await restartController(c.tb);
      await c.failoverEnded(FAILOVER_CAP_MS);
      await each(c, (h) => restoreHost(c.tb, h));
    },
  },
};
