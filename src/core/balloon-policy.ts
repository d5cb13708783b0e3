// Pure: the automatic virtio-balloon policy of one host (docs/memory.md,
// "Balloon policy"). Each round the agent passes the host's memory, each VM's
// balloon and guest statistics and the clock; the policy returns balloon
// targets, each with a reason that carries the numbers.
//
// - A VM's "used" memory is its current size (the balloon's `actual`) minus
//   what the guest reports available. This holds whether ballooned pages
//   leave the guest's MemTotal or, with deflate-on-oom, stay in it as used.
// - Headroom: a guest keeps max(guestKeepFreeMiB, guestKeepFreeFraction of its
//   configured size) available. It is *needy* when its available memory falls
//   below that, or when its major faults or swap-ins per second rise above a
//   threshold, while its balloon holds memory back (actual < configured).
// - Needy guests are served first, whatever the host's pressure, as long as
//   the host keeps hostKeepFreeMiB available: the balloon rises by what the
//   guest lacks (at least one step), up to its configured size. No cooldown.
// - Host pressure: MemAvailable < pressureFreeFraction of the usable memory
//   (total minus reserved); it ends only above relaxFreeFraction (hysteresis).
//   Under pressure, VMs with the most unused memory are inflated first (that
//   amount weighed by 1000 / their resource pool's memory shares, so a pool
//   with low shares gives memory up before one with high shares), by at
//   most stepMiB each, until the host would be back at the relax level. A
//   target never goes below the VM's floor (default max(128 MiB, 25% of
//   configured)) nor below used + headroom + half a headroom (the extra half
//   keeps an inflated guest from turning needy at the next wobble).
// - Without pressure, memory goes back by at most stepMiB per VM per round,
//   tightest guests first (tightness weighed by 1000 / memory shares: higher
//   shares first), only while the host stays above the relax level,
//   up to each VM's configured size.
// - A VM changed less than cooldownMs ago is neither inflated nor given memory
//   back. A VM without guest statistics, with statistics older than
//   statsMaxAgeMs, or older than its last balloon change, is left alone.
// - Changes smaller than minChangeMiB are not made (unless they reach the
//   configured size).

export interface HostMemoryFacts {
  totalMiB: number;
  /** MemAvailable of /proc/meminfo. */
  availableMiB: number;
  /** Held back for the host itself (agent flag --reserve-memory). */
  reservedMiB: number;
}

/** The guest's own view, from the balloon driver's statistics. */
export interface GuestMemoryStats {
  freeMiB: number;
  availableMiB: number;
  totalMiB: number;
  /** Major page faults since boot, when the guest reports them. */
  majorFaults?: number;
  /** MiB swapped in since boot, when the guest reports it. */
  swapInMiB?: number;
  /** When QEMU received these statistics (host clock). */
  atMs: number;
}

export interface BalloonVmFacts {
  id: string;
  /** The VM's memory size: the balloon's ceiling. */
  configuredMiB: number;
  /** The balloon's current size (QMP query-balloon `actual`). */
  actualMiB: number;
  guest?: GuestMemoryStats;
  /** The statistics of the round before, for fault and swap-in rates. */
  previousGuest?: GuestMemoryStats;
  /** Lowest target ever; default defaultFloorMiB(configuredMiB). */
  floorMiB?: number;
  /** When this VM's balloon target was last changed. */
  lastChangeAtMs?: number;
  /** Its resource pool's memory shares (docs/resource-pools.md); default 1000 (normal). */
  memoryShares?: number;
}

export interface BalloonPolicy {
  /** The host is under pressure when MemAvailable falls below this fraction of its usable memory. */
  pressureFreeFraction: number;
  /** ... and stays under pressure until MemAvailable rises above this fraction. */
  relaxFreeFraction: number;
  /** A guest keeps at least this much available ... */
  guestKeepFreeMiB: number;
  /** ... or this fraction of its configured size, whichever is more. */
  guestKeepFreeFraction: number;
  /** Largest change of one VM's balloon in one round (a needy guest may get more: what it lacks). */
  stepMiB: number;
  /** No inflation or give-back of a VM within this long of its last change. */
  cooldownMs: number;
  /** Smaller changes are not worth making. */
  minChangeMiB: number;
  /** Deflating never takes the host's MemAvailable below this. */
  hostKeepFreeMiB: number;
  /** Older guest statistics count as missing. */
  statsMaxAgeMs: number;
  /** A guest faulting in pages faster than this needs memory. */
  needyMajorFaultsPerSec: number;
  /** A guest swapping in faster than this needs memory. */
  needySwapInMiBPerSec: number;
}

export const DEFAULT_BALLOON_POLICY: Readonly<BalloonPolicy> = {
  pressureFreeFraction: 0.15,
  relaxFreeFraction: 0.25,
  guestKeepFreeMiB: 64,
  guestKeepFreeFraction: 0.1,
  stepMiB: 128,
  cooldownMs: 30_000,
  minChangeMiB: 16,
  hostKeepFreeMiB: 256,
  statsMaxAgeMs: 30_000,
  needyMajorFaultsPerSec: 100,
  needySwapInMiBPerSec: 1,
};

export type BalloonChangeKind = 'deflate-needy' | 'inflate-pressure' | 'deflate-relax';

export interface BalloonTarget {
  vmId: string;
  targetMiB: number;
  kind: BalloonChangeKind;
  reason: string;
}

export interface BalloonInput {
  host: HostMemoryFacts;
  vms: readonly BalloonVmFacts[];
  nowMs: number;
  policy: BalloonPolicy;
  /** The `underPressure` of the previous round's plan (hysteresis); false at first. */
  wasUnderPressure: boolean;
}

export interface BalloonPlan {
  underPressure: boolean;
  /** The host's state in words, with its numbers. */
  hostReason: string;
  targets: BalloonTarget[];
  /** VMs the policy could not judge or serve, and why. */
  leftAlone: LeftAlone[];
}

/**
 * no-stats / stale-stats: the guest's statistics are missing or too old;
 * settling: none newer than the VM's last balloon change yet;
 * host-short: the guest needs memory the host does not have.
 */
export type LeftAloneCode = 'no-stats' | 'stale-stats' | 'settling' | 'host-short';

export interface LeftAlone {
  vmId: string;
  code: LeftAloneCode;
  reason: string;
}

export function defaultFloorMiB(configuredMiB: number): number {
  return Math.min(configuredMiB, Math.max(128, Math.ceil(configuredMiB / 4)));
}

export function guestHeadroomMiB(configuredMiB: number, policy: BalloonPolicy): number {
  return Math.ceil(Math.max(policy.guestKeepFreeMiB, policy.guestKeepFreeFraction * configuredMiB));
}

export function planBalloon(input: BalloonInput): BalloonPlan {
  const { host, policy } = input;
  const pressure = judgePressure(host, policy, input.wasUnderPressure);
  const plan: BalloonPlan = { underPressure: pressure.underPressure, hostReason: pressure.reason, targets: [], leftAlone: [] };
  const views: VmView[] = [];
  for (const vm of input.vms) {
    const v = viewOf(vm, input.nowMs, policy);
    if ('code' in v) plan.leftAlone.push({ vmId: vm.id, ...v });
    else views.push(v);
  }
  const given = deflateNeedy(views, host.availableMiB - policy.hostKeepFreeMiB, host, policy, plan);
  const idle = views.filter((v) => !v.need && !v.cooling);
  if (pressure.underPressure) {
    inflate(idle, Math.ceil(pressure.relaxMiB - host.availableMiB), pressure.reason, policy, plan);
  } else {
    // What the host can lend and still stay above the relax level (and above hostKeepFreeMiB).
    const spareMiB = host.availableMiB - Math.max(pressure.relaxMiB, policy.hostKeepFreeMiB) - given;
    giveBack(idle, Math.floor(spareMiB), host, pressure, policy, plan);
  }
  return plan;
}

interface Pressure {
  underPressure: boolean;
  reason: string;
  usableMiB: number;
  relaxMiB: number;
}

function judgePressure(host: HostMemoryFacts, policy: BalloonPolicy, was: boolean): Pressure {
  const usableMiB = Math.max(0, host.totalMiB - host.reservedMiB);
  const pressureMiB = policy.pressureFreeFraction * usableMiB;
  const relaxMiB = policy.relaxFreeFraction * usableMiB;
  const avail = `host available ${mib(host.availableMiB)}`;
  const of = (f: number): string => `${pct(f)} of ${mib(usableMiB)}`;
  if (host.availableMiB < pressureMiB) return { underPressure: true, reason: `${avail} < ${of(policy.pressureFreeFraction)}`, usableMiB, relaxMiB };
  if (was && host.availableMiB <= relaxMiB) {
    return { underPressure: true, reason: `${avail} not yet above ${of(policy.relaxFreeFraction)} (still under pressure)`, usableMiB, relaxMiB };
  }
  const reason = host.availableMiB > relaxMiB ? `${avail} > ${of(policy.relaxFreeFraction)}` : `${avail} >= ${of(policy.pressureFreeFraction)}`;
  return { underPressure: false, reason, usableMiB, relaxMiB };
}

interface VmView {
  id: string;
  configuredMiB: number;
  actualMiB: number;
  usedMiB: number;
  availableMiB: number;
  headroomMiB: number;
  floorMiB: number;
  /** The lowest target while inflating: max(floor, used + 1.5 headroom). */
  keepMiB: number;
  /** Why the guest needs memory, when it does. */
  need?: string;
  /** What it lacks to be back at used + 1.5 headroom. */
  shortMiB: number;
  cooling: boolean;
  /** 1000 / memory shares: how readily it gives memory up, and how late it gets it back. */
  yieldFactor: number;
}

/** The VM's numbers, or why it is left alone. */
function viewOf(vm: BalloonVmFacts, nowMs: number, policy: BalloonPolicy): VmView | Omit<LeftAlone, 'vmId'> {
  const g = vm.guest;
  if (!g || !(g.totalMiB > 0) || !(g.availableMiB >= 0)) {
    return { code: 'no-stats', reason: `vm ${vm.id}: no guest memory statistics (balloon driver not loaded, or not reported yet)` };
  }
  if (nowMs - g.atMs > policy.statsMaxAgeMs) return { code: 'stale-stats', reason: `vm ${vm.id}: guest statistics are ${secs(nowMs - g.atMs)} old (guest paused or not answering)` };
  if (vm.lastChangeAtMs !== undefined && g.atMs < vm.lastChangeAtMs) return { code: 'settling', reason: `vm ${vm.id}: waiting for guest statistics newer than the last balloon change` };
  const actualMiB = Math.floor(Math.min(vm.actualMiB, vm.configuredMiB));
  const usedMiB = Math.max(0, Math.round(actualMiB - g.availableMiB));
  const headroomMiB = guestHeadroomMiB(vm.configuredMiB, policy);
  const floorMiB = Math.min(vm.configuredMiB, vm.floorMiB ?? defaultFloorMiB(vm.configuredMiB));
  const keepMiB = Math.min(vm.configuredMiB, Math.max(floorMiB, Math.ceil(usedMiB + headroomMiB * 1.5)));
  const cooling = vm.lastChangeAtMs !== undefined && nowMs - vm.lastChangeAtMs < policy.cooldownMs;
  const view: VmView = {
    id: vm.id, configuredMiB: vm.configuredMiB, actualMiB, usedMiB, availableMiB: Math.round(g.availableMiB), headroomMiB, floorMiB, keepMiB,
    shortMiB: Math.max(0, Math.ceil(usedMiB + headroomMiB * 1.5 - actualMiB)), cooling, yieldFactor: 1000 / (vm.memoryShares ?? 1000),
  };
  const need = actualMiB < vm.configuredMiB ? needOf(vm, view, policy) : undefined;
  return need ? { ...view, need } : view;
}

function needOf(vm: BalloonVmFacts, v: VmView, policy: BalloonPolicy): string | undefined {
  if (v.availableMiB < v.headroomMiB) return `vm ${vm.id} has ${mib(v.availableMiB)} available < ${mib(v.headroomMiB)} headroom`;
  const g = vm.guest;
  const p = vm.previousGuest;
  if (!g || !p || g.atMs <= p.atMs) return undefined;
  const seconds = (g.atMs - p.atMs) / 1000;
  const faults = rate(p.majorFaults, g.majorFaults, seconds);
  if (faults !== undefined && faults > policy.needyMajorFaultsPerSec) return `vm ${vm.id} has ${Math.round(faults)} major faults/s > ${policy.needyMajorFaultsPerSec}`;
  const swapIn = rate(p.swapInMiB, g.swapInMiB, seconds);
  if (swapIn !== undefined && swapIn > policy.needySwapInMiBPerSec) return `vm ${vm.id} swaps in ${swapIn.toFixed(1)} MiB/s > ${policy.needySwapInMiBPerSec}`;
  return undefined;
}

/** Growth per second of a counter; undefined when unknown or reset (the guest rebooted). */
function rate(before: number | undefined, after: number | undefined, seconds: number): number | undefined {
  if (before === undefined || after === undefined || before < 0 || after < before) return undefined;
  return (after - before) / seconds;
}

/** Raises the balloon of needy guests, neediest first, within the host's budget; returns the MiB given. */
function deflateNeedy(views: VmView[], budgetMiB: number, host: HostMemoryFacts, policy: BalloonPolicy, plan: BalloonPlan): number {
  const needy = views.filter((v) => v.need).sort((a, b) => b.shortMiB - a.shortMiB || a.id.localeCompare(b.id));
  let left = Math.floor(budgetMiB);
  for (const v of needy) {
    const room = v.configuredMiB - v.actualMiB;
    const raise = Math.min(Math.max(policy.stepMiB, v.shortMiB), room, left);
    if (raise <= 0 || raise < Math.min(policy.minChangeMiB, room)) {
      plan.leftAlone.push({ vmId: v.id, code: 'host-short', reason: `${v.need ?? ''}, but host available ${mib(host.availableMiB)} leaves nothing to give above ${mib(policy.hostKeepFreeMiB)}` });
      continue;
    }
    left -= raise;
    const targetMiB = v.actualMiB + raise;
    plan.targets.push({ vmId: v.id, targetMiB, kind: 'deflate-needy', reason: `${v.need ?? ''} (host available ${mib(host.availableMiB)}): balloon up from ${mib(v.actualMiB)} to ${mib(targetMiB)}` });
  }
  return Math.floor(budgetMiB) - left;
}

/** ", memory shares N" when the VM's pool sets them (not normal). */
function sharesNote(v: VmView): string {
  return v.yieldFactor === 1 ? '' : `, memory shares ${Math.round(1000 / v.yieldFactor)}`;
}

/** Under pressure: takes from the VMs with the most unused memory until the host is back at the relax level. */
function inflate(idle: VmView[], needMiB: number, hostReason: string, policy: BalloonPolicy, plan: BalloonPlan): void {
  const spare = (v: VmView): number => v.actualMiB - v.keepMiB;
  const order = (v: VmView): number => spare(v) * v.yieldFactor;
  const candidates = idle.filter((v) => spare(v) >= policy.minChangeMiB).sort((a, b) => order(b) - order(a) || a.id.localeCompare(b.id));
  let left = needMiB;
  for (const v of candidates) {
    if (left <= 0) break;
    const take = Math.min(policy.stepMiB, spare(v), Math.max(left, policy.minChangeMiB));
    left -= take;
    const targetMiB = v.actualMiB - take;
    const keeps = `keeps ${mib(v.headroomMiB)} headroom + ${mib(v.headroomMiB / 2)}, floor ${mib(v.floorMiB)}${sharesNote(v)}`;
    plan.targets.push({ vmId: v.id, targetMiB, kind: 'inflate-pressure', reason: `${hostReason}; vm ${v.id} uses ${v.usedMiB} of ${mib(v.actualMiB)} (${keeps}): balloon to ${mib(targetMiB)}` });
  }
}

/** Without pressure: gives memory back, tightest guests first, while the host stays above the relax level. */
function giveBack(idle: VmView[], budgetMiB: number, host: HostMemoryFacts, pressure: Pressure, policy: BalloonPolicy, plan: BalloonPlan): void {
  const tightness = (v: VmView): number => (v.availableMiB / v.actualMiB) * v.yieldFactor;
  const candidates = idle.filter((v) => v.actualMiB < v.configuredMiB).sort((a, b) => tightness(a) - tightness(b) || a.id.localeCompare(b.id));
  let left = budgetMiB;
  for (const v of candidates) {
    const room = v.configuredMiB - v.actualMiB;
    const give = Math.min(policy.stepMiB, room, left);
    if (give <= 0 || give < Math.min(policy.minChangeMiB, room)) continue;
    left -= give;
    const targetMiB = v.actualMiB + give;
    const hostWhy = `host available ${mib(host.availableMiB)} > ${pct(policy.relaxFreeFraction)} of ${mib(pressure.usableMiB)}`;
    plan.targets.push({ vmId: v.id, targetMiB, kind: 'deflate-relax', reason: `${hostWhy}; vm ${v.id} at ${v.actualMiB} of ${mib(v.configuredMiB)}: give back, balloon to ${mib(targetMiB)}` });
  }
}

function mib(n: number): string {
  return `${Math.round(n)} MiB`;
}

function pct(f: number): string {
  return `${Math.round(f * 1000) / 10}%`;
}

function secs(ms: number): string {
  return `${Math.round(ms / 1000)} s`;
}
