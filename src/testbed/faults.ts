// Fault hooks of the testbed, for failure tests and the HA work: stop a host
// (its agent and its QEMUs die at once, as when the machine loses power), cut
// a host's network link, cut a host from the shared storage, freeze a host's
// agent, crash the controller, and bring each back.
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { setHostLink } from './fabric.js';
import { isAlive, killAll, processesMentioning } from './daemons.js';
import { findHost, readPid, startController, startHost, type TestbedState } from './testbed.js';

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

/** The source name of the mount that hides the shared pool from a cut host. */
const CUT_SOURCE = 'drover-storage-cut';

/**
 * Cuts host `name` from the shared storage pool only (namespace mode): in the
 * mount namespace of each of its processes (agent, fencer, QEMU; `ip netns
 * exec` gave them their own) an empty read-only tmpfs goes over the pool
 * directory, so the host can no longer read or write anything there (its
 * lease renewals fail) while the controller and the other hosts still see
 * the pool and the host still talks to the controller. Files it holds open
 * (a running QEMU's disks) stay reachable, as on an NFS client whose open
 * files are not revoked. Returns the number of mount namespaces cut.
 */
export async function cutStorage(state: TestbedState, name: string): Promise<number> {
  const namespaces = hostMountNamespaces(state, name);
  const dir = path.resolve(state.sharedDir);
  for (const ns of namespaces.values()) {
    if (mountedCut(ns.pid, dir)) continue;
    await run('nsenter', [`--mount=/proc/${ns.pid}/ns/mnt`, 'mount', '-t', 'tmpfs', '-o', 'ro,size=64k', CUT_SOURCE, dir]);
  }
  return namespaces.size;
}

/** Undoes cutStorage: the tmpfs over the pool goes away in every mount namespace of the host's processes. */
export async function restoreStorage(state: TestbedState, name: string): Promise<void> {
  const dir = path.resolve(state.sharedDir);
  for (const ns of hostMountNamespaces(state, name).values()) {
    while (mountedCut(ns.pid, dir)) await run('nsenter', [`--mount=/proc/${ns.pid}/ns/mnt`, 'umount', dir]);
  }
}

/** One live process of the host per mount namespace, never this process's own namespace (that would cut everybody). */
function hostMountNamespaces(state: TestbedState, name: string): Map<string, { pid: number }> {
  if (!state.fabric) throw new Error('cutting a host from storage needs a namespace-mode testbed (drover testbed up --netns): only there do its processes have a mount namespace of their own');
  const h = findHost(state, name);
  const own = fs.readlinkSync('/proc/self/ns/mnt');
  const out = new Map<string, { pid: number }>();
  for (const pid of processesMentioning(path.resolve(h.dir))) {
    let ns: string;
    try {
      ns = fs.readlinkSync(`/proc/${pid}/ns/mnt`);
    } catch {
      continue; // gone meanwhile
    }
    if (ns !== own && !out.has(ns)) out.set(ns, { pid });
  }
  return out;
}

/** Whether the cut's tmpfs is mounted on `dir` in the mount namespace of `pid`. */
function mountedCut(pid: number, dir: string): boolean {
  let lines: string[];
  try {
    lines = fs.readFileSync(`/proc/${pid}/mountinfo`, 'utf8').split('\n');
  } catch {
    return false;
  }
  // mountinfo: "ID PARENT MAJ:MIN ROOT MOUNTPOINT OPTS ... - FSTYPE SOURCE SUPEROPTS"
  return lines.some((l) => l.split(' ')[4] === dir && l.split(' - ')[1]?.split(' ')[1] === CUT_SOURCE);
}

const run = async (cmd: string, args: string[]) => {
  await promisify(execFile)(cmd, args);
};

/** Undoes every host fault: a frozen agent goes on, the storage and the link come back, a stopped agent starts again (it re-attaches to what survived). */
export async function restoreHost(state: TestbedState, name: string): Promise<void> {
  findHost(state, name);
  thawAgent(state, name);
  if (state.fabric) {
    await restoreStorage(state, name);
    await setHostLink(state.fabric, name, true);
  }
  await startHost(state, name);
}

/** SIGKILLs the controller (a crash): its agents and QEMUs go on. */
export async function killController(state: TestbedState): Promise<void> {
  const pid = readPid(state.controller.pidFile);
  if (pid && isAlive(pid)) await killAll([pid]);
}

/** Starts the controller again on the port it had (its agents find it there). */
export async function restartController(state: TestbedState): Promise<void> {
  const pid = readPid(state.controller.pidFile);
  if (pid && isAlive(pid)) return;
  await startController(state, Number(new URL(state.url).port));
}

/** SIGSTOPs host `name`'s agent (a stalled event loop, a hung process): its fencer and QEMUs go on. Returns its PID. */
export function freezeAgent(state: TestbedState, name: string): number {
  const pid = readPid(findHost(state, name).pidFile);
  if (!pid || !isAlive(pid)) throw new Error(`host ${name}'s agent does not run`);
  process.kill(pid, 'SIGSTOP');
  return pid;
}

/** Undoes freezeAgent. */
export function thawAgent(state: TestbedState, name: string): void {
  const pid = readPid(findHost(state, name).pidFile);
  if (pid && isAlive(pid)) process.kill(pid, 'SIGCONT');
}
