// `events:` timed things that happen to the cluster: a host fails (and is
// repaired), a host goes into maintenance (until a time), load on a VM group
// is scaled for a while.
import { Fields, ScenarioError, oneOfText } from './fields.js';
import type { EventSpec } from './types.js';

const KINDS = ['host-failure', 'host-repair', 'maintenance', 'load'] as const;

export function eventSpec(v: unknown, path: string, hostIds: Set<string>, vmGroups: Set<string>): EventSpec {
  const kind = Fields.of(v, path, ['kind', 'at', 'host', 'hosts', 'until', 'vms', 'factor']).oneOf('kind', KINDS);
  const f = Fields.of(v, path, kind === 'load' ? ['kind', 'at', 'vms', 'factor', 'until'] : kind === 'maintenance' ? ['kind', 'at', 'host', 'hosts', 'until'] : ['kind', 'at', 'host', 'hosts']);
  const atMs = f.durationMs('at');
  const untilMs = f.has('until') ? f.durationMs('until') : undefined;
  if (untilMs !== undefined && untilMs <= atMs) f.fail('until', 'must be later than at');
  const until = untilMs !== undefined ? { untilMs } : {};
  if (kind === 'load') {
    const vms = f.str('vms');
    if (!vmGroups.has(vms)) f.fail('vms', `must name a VM group (${oneOfText([...vmGroups])}), not "${vms}"`);
    return { atMs, kind, vms, factor: f.num('factor', undefined, { min: 0 }), ...until };
  }
  const hosts = hostList(f, hostIds);
  return kind === 'maintenance' ? { atMs, kind, hosts, ...until } : { atMs, kind, hosts };
}

function hostList(f: Fields, hostIds: Set<string>): string[] {
  if (f.has('host') === f.has('hosts')) f.fail('host', 'give one host (host: h-0) or a list (hosts: [h-0, h-1])');
  const hosts = f.has('host') ? [f.str('host')] : f.strings('hosts');
  hosts.forEach((h, i) => {
    if (!hostIds.has(h)) {
      const field = f.has('host') ? f.field('host') : `${f.field('hosts')}[${i}]`;
      throw new ScenarioError(field, `no host "${h}"; hosts are named NAME-INDEX after their group (e.g. ${[...hostIds].slice(0, 3).join(', ')})`);
    }
  });
  return hosts;
}
