// IPv4 arithmetic for bridged VMs: parsing addresses, prefixes and ranges,
// and picking the next free address of a range. Pure.

export interface AddressRange {
  first: number;
  last: number;
  /** The prefix length guests get with their address (the bridge's subnet). */
  prefix: number;
}

const OCTETS = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/;

/** The address as a 32-bit unsigned number, or undefined when it is not dotted-quad IPv4. */
export function parseIpv4(text: string): number | undefined {
  const m = OCTETS.exec(text);
  if (!m) return undefined;
  const octets = m.slice(1).map(Number);
  if (octets.some((o) => o > 255)) return undefined;
  return octets.reduce((n, o) => n * 256 + o, 0);
}

export function formatIpv4(n: number): string {
  return [24, 16, 8, 0].map((shift) => Math.floor(n / 2 ** shift) % 256).join('.');
}

/** "A.B.C.D/NN" as address and prefix, or undefined. */
export function parseCidr(text: string): { address: number; prefix: number } | undefined {
  const [addr, len, extra] = text.split('/');
  if (extra !== undefined || addr === undefined || len === undefined || !/^\d{1,2}$/.test(len)) return undefined;
  const address = parseIpv4(addr);
  const prefix = Number(len);
  return address === undefined || prefix > 32 ? undefined : { address, prefix };
}

/** The network number of `address` under `prefix`. */
export function networkOf(address: number, prefix: number): number {
  const size = 2 ** (32 - prefix);
  return Math.floor(address / size) * size;
}

/**
 * Parses "FIRST-LAST/PREFIX" (e.g. 10.77.1.1-10.77.255.254/16): both ends in
 * one subnet of that prefix, first <= last. Returns the range or an error message.
 */
export function parseRange(text: string): AddressRange | string {
  const m = /^([\d.]+)-([\d.]+)\/(\d{1,2})$/.exec(text);
  const first = m ? parseIpv4(m[1]!) : undefined;
  const last = m ? parseIpv4(m[2]!) : undefined;
  const prefix = m ? Number(m[3]) : NaN;
  if (first === undefined || last === undefined || !(prefix >= 1 && prefix <= 30)) return `"${text}" is not FIRST-LAST/PREFIX, e.g. 10.77.1.1-10.77.255.254/16`;
  if (first > last) return `"${text}": the first address is after the last`;
  if (networkOf(first, prefix) !== networkOf(last, prefix)) return `"${text}": both ends must lie in one /${prefix} subnet`;
  return { first, last, prefix };
}

/** The lowest address of the range not in `used` (dotted quads), as "A.B.C.D/PREFIX"; undefined when all are taken. */
export function nextFreeAddress(range: AddressRange, used: Iterable<string>): string | undefined {
  const taken = new Set<number>();
  for (const u of used) {
    const n = parseIpv4(u.split('/')[0] ?? '');
    if (n !== undefined) taken.add(n);
  }
  for (let n = range.first; n <= range.last; n++) {
    if (!taken.has(n)) return `${formatIpv4(n)}/${range.prefix}`;
  }
  return undefined;
}

/** True when `address` is the network or broadcast address of its prefix (not usable by a host). */
export function isReservedAddress(address: number, prefix: number): boolean {
  if (prefix >= 31) return false;
  const net = networkOf(address, prefix);
  return address === net || address === net + 2 ** (32 - prefix) - 1;
}
