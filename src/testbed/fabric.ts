// The network of a namespace-mode testbed: one namespace per host, each with
// a bridge (br0) that holds the host's address and its VMs' TAPs, uplinked
// by a veth pair to a fabric bridge in its own namespace. The root namespace
// joins the fabric through one more veth pair, so the controller (which runs
// in the root namespace) and the operator reach every host and every bridged
// VM at its own address. One L2 segment spans all hosts: a VM keeps its IP
// when it moves. Every name starts with drv<tag>.
import { ip, NET_PREFIX, NetworkError } from '../host/network.js';
import { formatIpv4, networkOf, parseCidr } from '../core/ipv4.js';

export interface FabricPlan {
  tag: string;
  prefix: number;
  /** Namespace of the fabric bridge. */
  fabricNs: string;
  /** The root namespace's end of its link to the fabric, and its address (the controller listens there). */
  rootLink: string;
  rootAddress: string;
  hosts: Array<{ name: string; ns: string; address: string; uplink: string }>;
  /** Addresses for bridged VMs (FIRST-LAST/PREFIX for the controller's --bridge-range). */
  vmRange: string;
}

/** Bridge and uplink names inside each host namespace (names inside a namespace need no prefix). */
export const HOST_BRIDGE = 'br0';
const FABRIC_BRIDGE = 'fab';

export function checkTag(tag: string): void {
  if (!/^[a-z0-9]{1,6}$/.test(tag)) throw new NetworkError(`testbed tag "${tag}" must be 1-6 lowercase letters or digits`);
}

/** Names and addresses of a fabric of `hosts` hosts in `subnet` (a /16 to /22 network, e.g. 10.77.0.0/16). */
export function planFabric(tag: string, hosts: number, subnet: string): FabricPlan {
  checkTag(tag);
  const cidr = parseCidr(subnet);
  if (!cidr || cidr.prefix < 8 || cidr.prefix > 22) throw new NetworkError(`--subnet "${subnet}" must be an IPv4 network with a prefix from /8 to /22, e.g. 10.77.0.0/16`);
  if (hosts < 1 || hosts > 200) throw new NetworkError(`hosts must be from 1 to 200 (got ${hosts})`);
  const net = networkOf(cidr.address, cidr.prefix);
  const last = net + 2 ** (32 - cidr.prefix) - 2;
  const base = `${NET_PREFIX}${tag}`;
  return {
    tag,
    prefix: cidr.prefix,
    fabricNs: `${base}-fab`,
    rootLink: `${base}r`,
    rootAddress: formatIpv4(net + 254),
    hosts: Array.from({ length: hosts }, (_, i) => ({ name: `h${i}`, ns: `${base}-h${i}`, address: formatIpv4(net + 1 + i), uplink: `h${i}` })),
    // The first 256 addresses are for hosts and the controller; VMs get the rest.
    vmRange: `${formatIpv4(net + 256 + 1)}-${formatIpv4(last)}/${cidr.prefix}`,
  };
}

/** Refuses a subnet the root namespace already routes (we must not shadow a real network). */
export async function checkSubnetFree(subnet: string): Promise<void> {
  const routes = await ip(['-4', 'route', 'show']);
  const cidr = parseCidr(subnet);
  if (!cidr) return;
  const mine = networkOf(cidr.address, cidr.prefix);
  for (const line of routes.split('\n')) {
    const dest = line.split(' ')[0] ?? '';
    const r = dest === 'default' ? undefined : parseCidr(dest.includes('/') ? dest : `${dest}/32`);
    if (!r) continue;
    const p = Math.min(r.prefix, cidr.prefix);
    if (networkOf(r.address, p) === networkOf(mine, p)) throw new NetworkError(`subnet ${subnet} overlaps a route of this machine (${line.trim()}); choose another with --subnet`);
  }
}

/** Builds the namespaces, bridges and links of the plan. On failure it removes what it made. */
export async function buildFabric(plan: FabricPlan): Promise<void> {
  try {
    await ip(['netns', 'add', plan.fabricNs]);
    await ip(['link', 'add', FABRIC_BRIDGE, 'type', 'bridge'], plan.fabricNs);
    await ip(['link', 'set', 'dev', FABRIC_BRIDGE, 'up'], plan.fabricNs);
    await ip(['link', 'set', 'dev', 'lo', 'up'], plan.fabricNs);
    // Root namespace <-> fabric.
    await ip(['link', 'add', plan.rootLink, 'type', 'veth', 'peer', 'name', 'root', 'netns', plan.fabricNs]);
    await ip(['link', 'set', 'dev', 'root', 'master', FABRIC_BRIDGE, 'up'], plan.fabricNs);
    await ip(['addr', 'add', `${plan.rootAddress}/${plan.prefix}`, 'dev', plan.rootLink]);
    await ip(['link', 'set', 'dev', plan.rootLink, 'up']);
    for (const h of plan.hosts) await buildHost(plan, h);
  } catch (err) {
    await removeFabric(plan.tag).catch(() => undefined);
    throw err;
  }
}

async function buildHost(plan: FabricPlan, h: FabricPlan['hosts'][number]): Promise<void> {
  await ip(['netns', 'add', h.ns]);
  await ip(['link', 'set', 'dev', 'lo', 'up'], h.ns);
  await ip(['link', 'add', HOST_BRIDGE, 'type', 'bridge'], h.ns);
  await ip(['addr', 'add', `${h.address}/${plan.prefix}`, 'dev', HOST_BRIDGE], h.ns);
  await ip(['link', 'set', 'dev', HOST_BRIDGE, 'up'], h.ns);
  await ip(['link', 'add', h.uplink, 'type', 'veth', 'peer', 'name', 'uplink', 'netns', h.ns], plan.fabricNs);
  await ip(['link', 'set', 'dev', h.uplink, 'master', FABRIC_BRIDGE, 'up'], plan.fabricNs);
  await ip(['link', 'set', 'dev', 'uplink', 'master', HOST_BRIDGE, 'up'], h.ns);
}

/** Takes a host off the fabric (its uplink down) or puts it back. */
export async function setHostLink(plan: FabricPlan, host: string, up: boolean): Promise<void> {
  const h = plan.hosts.find((x) => x.name === host);
  if (!h) throw new NetworkError(`no host ${host} in this testbed (hosts: ${plan.hosts.map((x) => x.name).join(', ')})`);
  await ip(['link', 'set', 'dev', h.uplink, up ? 'up' : 'down'], plan.fabricNs);
}

/** Removes every namespace and root link of testbed `tag` (found by name, so it works after a crash too). */
export async function removeFabric(tag: string): Promise<string[]> {
  checkTag(tag);
  const base = `${NET_PREFIX}${tag}`;
  const removed: string[] = [];
  const namespaces = (await ip(['netns', 'list'])).split('\n').map((l) => l.split(' ')[0] ?? '').filter((n) => n === `${base}-fab` || n.startsWith(`${base}-h`));
  for (const ns of namespaces) {
    await ip(['netns', 'del', ns]);
    removed.push(`netns ${ns}`);
  }
  // Deleting the fabric namespace deletes the root link's peer, and so the link; this catches a half-built one.
  const rootLink = `${base}r`;
  if ((await ip(['-br', 'link', 'show'])).split('\n').some((l) => l.split(/[\s@]/)[0] === rootLink)) {
    // It may vanish meanwhile (the kernel removes it with its peer's namespace).
    await ip(['link', 'del', rootLink]).catch((err: Error) => {
      if (!/Cannot find device/.test(err.message)) throw err;
    });
    removed.push(`link ${rootLink}`);
  }
  return removed;
}
