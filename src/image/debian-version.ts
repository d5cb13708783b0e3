// Debian package version ordering (deb-version(7)): [epoch:]upstream[-revision].

interface ParsedVersion {
  epoch: number;
  upstream: string;
  revision: string;
}

function parse(v: string): ParsedVersion {
  const colon = v.indexOf(':');
  const epoch = colon >= 0 ? Number(v.slice(0, colon)) : 0;
  const rest = colon >= 0 ? v.slice(colon + 1) : v;
  const dash = rest.lastIndexOf('-');
  return dash >= 0
    ? { epoch, upstream: rest.slice(0, dash), revision: rest.slice(dash + 1) }
    : { epoch, upstream: rest, revision: '' };
}

/** Sort weight of one character in a non-digit run: '~' before end, letters before others. */
function order(c: string | undefined): number {
  if (c === undefined) return 0;
  if (c === '~') return -1;
  if (/[A-Za-z]/.test(c)) return c.charCodeAt(0);
  return c.charCodeAt(0) + 256;
}

function comparePart(a: string, b: string): number {
  let i = 0;
  let j = 0;
  while (i < a.length || j < b.length) {
    // Non-digit prefix, character by character.
    while ((i < a.length && !/\d/.test(a[i]!)) || (j < b.length && !/\d/.test(b[j]!))) {
      const ca = i < a.length && !/\d/.test(a[i]!) ? a[i] : undefined;
      const cb = j < b.length && !/\d/.test(b[j]!) ? b[j] : undefined;
      const diff = order(ca) - order(cb);
      if (diff !== 0) return diff;
      if (ca !== undefined) i++;
      if (cb !== undefined) j++;
    }
    // Digit run, numerically.
    const da = /^\d*/.exec(a.slice(i))![0];
    const db = /^\d*/.exec(b.slice(j))![0];
    i += da.length;
    j += db.length;
    const diff = Number(da || '0') - Number(db || '0');
    if (diff !== 0) return diff;
  }
  return 0;
}

/** Negative when a < b, 0 when equal, positive when a > b (as dpkg orders them). */
export function compareDebianVersions(a: string, b: string): number {
  const pa = parse(a);
  const pb = parse(b);
  if (pa.epoch !== pb.epoch) return pa.epoch - pb.epoch;
  return comparePart(pa.upstream, pb.upstream) || comparePart(pa.revision, pb.revision);
}
