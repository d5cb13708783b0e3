// Linux network plumbing through iproute2: the TAP devices of bridged VMs,
// and the namespaces, bridges and veth pairs of the testbed. Everything we
// create in the root namespace starts with NET_PREFIX, so it can be found and
// removed by name; Linux limits interface names to 15 characters.
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { runCommand } from '../image/run-command.js';

export const NET_PREFIX = 'drv';
export const IFNAME_MAX = 15;

export class NetworkError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'NetworkError';
  }
}

/** Runs `ip ARGS` (inside network namespace `netns` when given). */
export async function ip(args: readonly string[], netns?: string): Promise<string> {
  const argv = netns ? ['-n', netns, ...args] : [...args];
  try {
    return (await runCommand('ip', argv)).stdout;
  } catch (err) {
    throw new NetworkError((err as Error).message);
  }
}

export function checkIfname(name: string): void {
  if (!/^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/.test(name) || name.length > IFNAME_MAX) {
    throw new NetworkError(`"${name}" is not a valid interface name (1-${IFNAME_MAX} letters, digits, '_', '.', '-')`);
  }
}

/** The TAP of a VM's NIC: a stable name, the same on every host, so a migrated VM finds "its" port. */
export function tapName(vmId: string, nicIndex: number): string {
  return `${NET_PREFIX}t${createHash('sha256').update(vmId).digest('hex').slice(0, 9)}${nicIndex}`;
}

/** True when `name` is a Linux bridge in this (or the given) namespace. */
export async function isBridge(name: string, netns?: string): Promise<boolean> {
  if (!netns) return existsSync(`/sys/class/net/${name}/bridge`);
  const out = await ip(['-d', 'link', 'show', 'dev', name], netns).catch(() => '');
  return /\bbridge\b/.test(out);
}

export async function linkExists(name: string, netns?: string): Promise<boolean> {
  return ip(['link', 'show', 'dev', name], netns).then(
    () => true,
    () => false,
  );
}

/** A persistent TAP enslaved to `bridge` and up (idempotent). QEMU opens it by name (its sandbox forbids helper scripts). */
export async function ensureTap(name: string, bridge: string): Promise<void> {
  checkIfname(name);
  if (!(await isBridge(bridge))) throw new NetworkError(`bridge "${bridge}" does not exist on this host (create it, or start the agent without --bridge)`);
  if (!(await linkExists(name))) await ip(['tuntap', 'add', 'dev', name, 'mode', 'tap']);
  await ip(['link', 'set', 'dev', name, 'master', bridge]);
  await ip(['link', 'set', 'dev', name, 'up']);
}

/** Removes a TAP; a missing one is fine. */
export async function deleteTap(name: string): Promise<void> {
  checkIfname(name);
  if (await linkExists(name)) await ip(['link', 'del', 'dev', name]);
}
