// Failover decisions of the controller (docs/failover.md): is a host alive,
// cut off from the controller, or dead; which of the dead hosts' VMs
// restart, in what order; when a host that comes back is Ready again; when
// HA VMs left on failed hosts are worth another try; and whether a change
// passes HA admission. Pure: the
// controller passes in durations it measured on its own monotonic clock
// (never wall clocks, never clocks of other hosts), and the timing of
// ha-timing.ts.
import type { HaTiming } from './ha-timing.js';
import { haDeficits, type ClusterSnapshot, type SnapshotVm } from './planner/index.js';

/**
 * alive: it reports. isolated: silent, but its lease is still renewed (cut off
 * from the controller, not dead: nothing is done). suspected: silent and its
 * lease not renewed lately, not yet expired. dead: its lease expired (it has
 * fenced itself), or its BMC confirmed it powered off (power fencing): its HA
 * VMs restart elsewhere. no-lease: silent, but no lease
 * of it was ever seen: it cannot be proven fenced, nothing is done.
 * lease-stale: it reports and says its lease is fresh, yet the controller
 * sees the record unchanged: the controller's view of the pool is in doubt,
 * nothing is done. lease-lost: it reports and says it lost its lease (its
 * storage is cut: its fencer killed its HA VMs), but no HA VM is assigned to
 * it any more: nothing to fail over. fenced: declared dead already (host
 * state Fenced).
 * not-watched: a state that holds no running VMs (Joining, Standby, Left).
 * off: the controller runs without a shared pool.
 */
export const HOST_HA_VERDICTS = ['alive', 'isolated', 'suspected', 'dead', 'no-lease', 'lease-stale', 'lease-lost', 'fenced', 'not-watched', 'off'] as const;
export type HostHaVerdict = (typeof HOST_HA_VERDICTS)[number];

/** Host states whose hosts may hold running VMs: the ones judged. */
export const WATCHED_HOST_STATES: readonly string[] = ['Ready', 'Unreachable', 'Maintenance', 'Recovering'];

/** What the controller observed of a host's lease record. */
export interface LeaseObservation {
  /** A record of the host was read since the controller started. */
  seen: boolean;
  /**
   * How long the record has been seen unchanged (ms, the controller's own
   * monotonic clock). Counted at most from the controller's start, its last
   * stall, or the last failed read: none of those is evidence of anything.
   */
  unchangedMs: number;
  /** The last read failed (other than "no such file"): why. */
  readError?: string;
  /** The record cannot be this host's: why (e.g. the host reports another shared pool). */
  mismatch?: string;
}

export interface HostHaInput {
  /** The host's state name (Ready, Unreachable, Fenced, ...). */
  state: string;
  /** Since its last report (or since the controller started, if none came since), on the controller's clock. */
  silentMs: number;
  lease: LeaseObservation;
  /** Its own latest report says its fencer runs and its lease is not fresh (it lost its lease, as it sees it). */
  reportsLeaseLost?: boolean;
  /** HA VMs assigned to it (asked only for a host that reports; undefined: some). */
  haVms?: number;
  /** Its BMC confirmed it powered off since it last reported (power fencing). */
  poweredOff?: boolean;
}

export interface HostHaJudgement {
  verdict: HostHaVerdict;
  /** One sentence a person can read. */
  reason: string;
}

const s = (ms: number) => `${(ms / 1000).toFixed(1)} s`;

/** How recently a lease that is renewed every renewEveryMs (each write within T) must have changed, seen by a poller. */
export function renewingWithinMs(t: HaTiming): number {
  return 2 * t.renewEveryMs + t.pollMs;
}

/** Alive, isolated, suspected or dead (see HostHaVerdict). */
export function judgeHost(input: HostHaInput, t: HaTiming): HostHaJudgement {
  if (input.state === 'Fenced') return { verdict: 'fenced', reason: 'declared dead: its HA VMs were restarted elsewhere; it is Recovering once it reports again' };
  if (!WATCHED_HOST_STATES.includes(input.state)) return { verdict: 'not-watched', reason: `a ${input.state} host runs no VMs: it is not watched` };
  const silent = input.silentMs >= t.heartbeatSuspectMs;
  const { lease } = input;
  // A machine that is off runs no QEMU: no need to wait for its lease to expire.
  if (silent && input.poweredOff) return { verdict: 'dead', reason: `powered off by its BMC (confirmed off; silent for ${s(input.silentMs)}${lease.seen ? `, lease unchanged for ${s(lease.unchangedMs)}` : ''})` };
  if (lease.mismatch) return { verdict: silent ? 'no-lease' : 'alive', reason: `${silent ? `silent for ${s(input.silentMs)}; ` : ''}its lease cannot be watched: ${lease.mismatch}; it is never declared dead by lease` };
  if (!lease.seen) {
    const why = 'no lease record of it was seen since the controller started (no fencer there: agent --no-ha, no shared pool, or another pool)';
    return silent
      ? { verdict: 'no-lease', reason: `silent for ${s(input.silentMs)}, but ${why}: it cannot be proven fenced, so it is not declared dead and its HA VMs are not restarted` }
      : { verdict: 'alive', reason: `it reports; ${why}: it would not be failed over` };
  }
  if (lease.readError) return { verdict: silent ? 'suspected' : 'alive', reason: `the controller cannot read its lease (${lease.readError}): nothing is declared until it can` };
  const expired = lease.unchangedMs >= t.expireAfterMs;
  if (!silent) return judgeReporting(input, t, expired);
  if (expired) return { verdict: 'dead', reason: `silent for ${s(input.silentMs)} and its lease unchanged for ${s(lease.unchangedMs)} (expiry ${s(t.expireAfterMs)}): it has fenced itself` };
  if (lease.unchangedMs <= renewingWithinMs(t)) {
    return { verdict: 'isolated', reason: `silent for ${s(input.silentMs)}, but its lease is still renewed (changed ${s(lease.unchangedMs)} ago): cut off from the controller, not dead; its VMs stay where they are` };
  }
  return { verdict: 'suspected', reason: `silent for ${s(input.silentMs)} and its lease unchanged for ${s(lease.unchangedMs)}: dead at ${s(t.expireAfterMs)} unless it renews` };
}

function judgeReporting(input: HostHaInput, t: HaTiming, expired: boolean): HostHaJudgement {
  if (!expired) return { verdict: 'alive', reason: 'it reports and renews its lease' };
  const unchanged = s(input.lease.unchangedMs);
  if (input.reportsLeaseLost) {
    const lost = `it reports, but its lease is unchanged for ${unchanged} (expiry ${s(t.expireAfterMs)}) and it says it lost it`;
    // Failed over already (or never had any): failing it over again would only make it flap.
    if (input.haVms === 0) return { verdict: 'lease-lost', reason: `${lost}; no HA VM is assigned to it: nothing to fail over` };
    return { verdict: 'dead', reason: `${lost}: it has fenced its HA VMs` };
  }
  return { verdict: 'lease-stale', reason: `it reports and does not say it lost its lease, yet the record looks unchanged for ${unchanged}: the controller's view of the shared pool is in doubt; nothing is done` };
}

/**
 * Whether to power the host off through its BMC now, if it has one: it is
 * suspected (silent, and its lease not renewed lately, as read). Never a
 * host that reports, nor an isolated one (its lease is renewed), nor one
 * whose lease the controller cannot read (that proves nothing of the host).
 */
export function powerFenceDue(input: HostHaInput, j: HostHaJudgement): boolean {
  return j.verdict === 'suspected' && input.lease.seen && !input.lease.readError && !input.lease.mismatch;
}

/** The verdicts that make the controller declare the host dead and fail it over. */
export function isDead(j: HostHaJudgement): boolean {
  return j.verdict === 'dead';
}

/** The VM facts failover looks at. */
export interface FailoverVm {
  id: string;
  name: string;
  ha?: boolean;
  haPriority?: number;
  storage?: 'local' | 'shared';
  phase: string;
  removing?: boolean;
}

export interface FailoverSelection {
  /** HA VMs to restart elsewhere, higher priority first (then by name). */
  restart: string[];
  /** HA VMs that cannot be restarted elsewhere, with the reason. */
  notRestartable: Array<{ id: string; reason: string }>;
  /** The other VMs of the host: they stay assigned to it (host-down). */
  stay: string[];
}

/** Why an HA VM of a dead host cannot run elsewhere, or undefined when it can. */
export function notRestartableReason(vm: FailoverVm): string | undefined {
  if (vm.phase === 'Deleting' || vm.removing) return 'it is being deleted';
  if (vm.phase === 'Pending') return 'it was never started (its create job decides what becomes of it)';
  if ((vm.storage ?? 'local') !== 'shared') return 'its disks are in the failed host\'s local pool (storage local); HA restart needs storage shared';
  return undefined;
}

/** The VMs of the dead hosts (one or several), sorted into the ones to restart (in order), the HA ones that cannot be, and the rest. */
export function selectFailover(vms: readonly FailoverVm[]): FailoverSelection {
  const out: FailoverSelection = { restart: [], notRestartable: [], stay: [] };
  const ha = vms.filter((v) => v.ha === true);
  const ordered = [...ha].sort((a, b) => (b.haPriority ?? 0) - (a.haPriority ?? 0) || a.name.localeCompare(b.name) || a.id.localeCompare(b.id));
  for (const vm of ordered) {
    const why = notRestartableReason(vm);
    if (why) out.notRestartable.push({ id: vm.id, reason: why });
    else out.restart.push(vm.id);
  }
  for (const vm of vms) if (vm.ha !== true) out.stay.push(vm.id);
  return out;
}

/**
 * A host's state after one of its reports. `pending`: VMs that now run
 * elsewhere may still run there (released but not yet confirmed gone), or
 * its failover is still running. A Fenced host is Recovering until nothing
 * is pending, then Ready; a joining or unreachable host is Ready, unless
 * something is pending. Maintenance and Standby keep their state.
 */
export function hostStateOnReport(state: string, pending: boolean): string {
  if (state === 'Fenced' || state === 'Recovering' || state === 'Joining' || state === 'Unreachable') return pending ? 'Recovering' : 'Ready';
  return state;
}

/** Whether a silent host of this state becomes Unreachable after the limit (maintenance, standby, fenced and left hosts keep their state). */
export function silenceMakesUnreachable(state: string): boolean {
  return state === 'Ready' || state === 'Joining' || state === 'Recovering';
}

/** The restartable HA VMs assigned to failed hosts, in restart order: what a retry would restart. */
export function waitingOnFailedHosts<V extends FailoverVm & { hostId: string | null; migrating?: boolean }>(vms: readonly V[], failedHostIds: ReadonlySet<string>): V[] {
  const mine = vms.filter((v) => v.ha === true && v.hostId !== null && failedHostIds.has(v.hostId) && !v.migrating && notRestartableReason(v) === undefined);
  const byId = new Map(mine.map((v) => [v.id, v]));
  return selectFailover(mine).restart.map((id) => byId.get(id)!);
}

/** A Ready host as the retry of a failover sees it. */
export interface RoomHost {
  id: string;
  name: string;
  /** What placement looks at besides use (capacity, labels, images, pool, whether it can take HA VMs): any stable text. */
  traits: string;
  usedCpus: number;
  usedMemoryMiB: number;
}

/** What could give room to the HA VMs left on failed hosts, cheap to compare. */
export interface RoomFingerprint {
  hosts: string;
  hostNames: string[];
  usage: string;
  vmCount: number;
  /** Groups, host rules, automation settings: any stable text. */
  settings: string;
  /** The waiting VMs: id → name, and each with what placement looks at. */
  waiting: Record<string, { name: string; traits: string }>;
}

export function roomFingerprint(hosts: readonly RoomHost[], vmCount: number, settings: string, waiting: ReadonlyArray<{ id: string; name: string; traits: string }>): RoomFingerprint {
  const sorted = [...hosts].sort((a, b) => a.id.localeCompare(b.id));
  return {
    hosts: sorted.map((h) => `${h.id}|${h.traits}`).join('\n'),
    hostNames: sorted.map((h) => h.name).sort(),
    usage: sorted.map((h) => `${h.id}:${h.usedCpus}:${h.usedMemoryMiB}`).join(','),
    vmCount,
    settings,
    waiting: Object.fromEntries(waiting.map((w) => [w.id, { name: w.name, traits: w.traits }])),
  };
}

/**
 * Why a retry may find room now that it did not find when `tried` was noted,
 * or undefined when nothing that could give room changed. Fewer VMs waiting
 * is no reason (they take no room); a new or changed one is.
 */
export function retryReason(tried: RoomFingerprint | undefined, now: RoomFingerprint): string | undefined {
  if (!tried) return 'the controller started (one try with the cluster as it finds it)';
  const why: string[] = [];
  if (tried.hosts !== now.hosts) why.push(`the Ready hosts changed (now ${now.hostNames.join(', ') || 'none'})`);
  else if (tried.usage !== now.usage) why.push('memory or vCPUs in use on the Ready hosts changed');
  if (tried.vmCount !== now.vmCount) why.push(`the number of VMs changed (${tried.vmCount} -> ${now.vmCount})`);
  if (tried.settings !== now.settings) why.push('groups or automation settings changed');
  const changed = Object.entries(now.waiting).filter(([id, w]) => tried.waiting[id]?.traits !== w.traits).map(([, w]) => w.name);
  if (changed.length) why.push(`new or changed HA VM(s) waiting: ${changed.join(', ')}`);
  return why.length ? why.join('; ') : undefined;
}

/**
 * HA admission of a change (docs/failover.md, "Admission"): the deficits
 * after it when it creates or grows a shortfall of room to restart the HA
 * VMs of any F failed hosts, else undefined. Deficits are haDeficits(): > 0
 * is a shortfall.
 */
export function grownShortfall(before: ClusterSnapshot, after: ClusterSnapshot): { cpu: number; mem: number } | undefined {
  const b = haDeficits(before);
  const a = haDeficits(after);
  const worse = (k: 'cpu' | 'mem') => a[k] > Math.max(0, b[k]) + 1e-6;
  return worse('mem') || worse('cpu') ? a : undefined;
}

/** The snapshot with `vm` counted as a running HA VM on its host (a start to admit). */
export function withStartedHaVm(s: ClusterSnapshot, vm: SnapshotVm): ClusterSnapshot {
  return { ...s, vms: [...s.vms.filter((v) => v.id !== vm.id), { ...vm, ha: true }] };
}
