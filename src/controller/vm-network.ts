// The network of a new VM: user-mode by default; bridged VMs get a fixed
// address (given, or the next free one of the controller's --bridge-range)
// that no other VM holds, and only hosts with a bridge can run them.
import { ApiError, ErrorCode } from '../api/errors.js';
import type { CreateVmRequest } from '../api/requests.js';
import type { VmNetwork, VmSpec } from '../api/resources.js';
import { isReservedAddress, nextFreeAddress, parseCidr, type AddressRange } from '../core/ipv4.js';
import type { HostRecord, VmRecord } from './records.js';

/** The network to record in the new VM's spec (undefined: user-mode). */
export function resolveNetwork(req: CreateVmRequest, vms: readonly VmRecord[], range: AddressRange | undefined): VmNetwork | undefined {
  const net = req.network;
  if (!net || net.mode === 'user') return undefined;
  if (req.ports?.length) throw new ApiError(ErrorCode.invalid, 'ports forward through user-mode networking; a bridged VM is reached at its own address', 'ports', 'none with network bridge');
  const used = vms.flatMap((v) => (v.spec.network?.mode === 'bridge' ? [v.spec.network.address] : []));
  const gateway = net.gateway ? { gateway: net.gateway } : {};
  if (net.address) {
    checkAddress(net.address, used);
    return { mode: 'bridge', address: net.address, ...gateway };
  }
  if (!range) throw new ApiError(ErrorCode.invalid, 'this controller has no --bridge-range to pick an address from; give network.address (e.g. 10.77.1.5/16)', 'network.address');
  const address = nextFreeAddress(range, used);
  if (!address) throw new ApiError(ErrorCode.unavailable, 'every address of the controller\'s --bridge-range is taken; delete a bridged VM or give network.address', 'network.address');
  return { mode: 'bridge', address, ...gateway };
}

function checkAddress(address: string, used: string[]): void {
  const cidr = parseCidr(address);
  if (!cidr) throw new ApiError(ErrorCode.invalid, `"${address}" is not an IPv4 address with a prefix, e.g. 10.77.1.5/16`, 'network.address');
  if (isReservedAddress(cidr.address, cidr.prefix)) throw new ApiError(ErrorCode.invalid, `${address} is the network or broadcast address of its subnet`, 'network.address');
  const ip = address.split('/')[0];
  if (used.some((u) => u.split('/')[0] === ip)) throw new ApiError(ErrorCode.conflict, `address ${ip} is already held by another VM`, 'network.address');
}

/** Hosts that can run a VM with this network: any for user-mode, those with a bridge for bridged ones. */
export function hostsForNetwork(hosts: HostRecord[], network: VmNetwork | undefined): HostRecord[] {
  if (network?.mode !== 'bridge') return hosts;
  const bridged = hosts.filter((h) => h.inventory?.bridge);
  if (bridged.length === 0) throw new ApiError(ErrorCode.unavailable, 'no Ready host has a bridge for bridged VMs; start agents with --bridge NAME, or use network user', 'network', 'user');
  return bridged;
}

/** Why `host` cannot run a VM with this network (a migration target check), or undefined. */
export function networkProblem(host: HostRecord, network: VmNetwork | undefined): string | undefined {
  return network?.mode === 'bridge' && !host.inventory?.bridge ? 'it has no bridge for bridged VMs (agent flag --bridge)' : undefined;
}

/** Why `host` cannot run a VM with these NICs (its own and the added ones; a migration target check), or undefined. */
export function nicsProblem(host: HostRecord, spec: Pick<VmSpec, 'network' | 'nics'>): string | undefined {
  const bridged = spec.network?.mode === 'bridge' || (spec.nics ?? []).some((n) => n.network === 'bridge');
  return bridged && !host.inventory?.bridge ? 'it has no bridge for bridged NICs (agent flag --bridge)' : undefined;
}
