// Fault hooks of the testbed, for failure tests and the HA work: stop a host
// (its agent and its QEMUs die at once, as when the machine loses power), cut
// a host's network link, and bring either back.
import path from 'node:path';
import { setHostLink } from './fabric.js';
import { killAll, processesMentioning } from './daemons.js';
import { findHost, startHost, type TestbedState } from './testbed.js';

/** SIGKILLs host `name`'s agent and every QEMU it runs. Returns the PIDs killed. */
export async function stopHost(state: TestbedState, name: string): Promise<number[]> {
  const h = findHost(state, name);
  const pids = processesMentioning(path.resolve(h.dir));
  await killAll(pids);
  return pids;
}

/** Takes host `name` off the network (namespace mode): its uplink to the fabric goes down. */
export async function cutLink(state: TestbedState, name: string): Promise<void> {
  if (!state.fabric) throw new Error('cutting a link needs a namespace-mode testbed (drover testbed up --netns)');
  findHost(state, name);
  await setHostLink(state.fabric, name, false);
}

/** Undoes cutLink and stopHost: the link goes up and a stopped agent starts again (it re-attaches to what survived). */
export async function restoreHost(state: TestbedState, name: string): Promise<void> {
  findHost(state, name);
  if (state.fabric) await setHostLink(state.fabric, name, true);
  await startHost(state, name);
}
