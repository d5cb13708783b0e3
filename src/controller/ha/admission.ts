// HA admission on the live cluster (docs/failover.md, "Admission"): a new HA
// VM, a VM that becomes HA, or a stopped HA VM that starts, is admitted only
// if the HA VMs of any F Ready hosts still fit on the others (the planner's
// rule, src/core/planner/ha.ts).
// F is the automation setting haFailures (default 1; 0 turns admission off).
// Non-HA VMs are never refused by it.
import { ApiError, ErrorCode } from '../../api/errors.js';
import type { PoolHa } from '../../api/pool.js';
import { grownShortfall, withStartedHaVm } from '../../core/ha-failover.js';
import { haDeficits, type ClusterSnapshot } from '../../core/planner/index.js';
import { usesResources } from '../../core/pool-capacity.js';
import { loadSettings } from '../automation/settings.js';
import { liveClusterSnapshot, withConstraints } from '../cluster-snapshot.js';
import type { ControllerContext } from '../context.js';
import type { VmRecord } from '../records.js';

const EPS = 1e-6;

export async function haFailures(ctx: Pick<ControllerContext, 'state'>): Promise<number> {
  return (await loadSettings(ctx.state)).haFailures ?? 1;
}

/** The refusal: what broke and how to get room. */
export function admissionError(f: number, detail: string): ApiError {
  return new ApiError(ErrorCode.conflict, `HA admission refuses it: ${detail}; the cluster keeps room to restart the HA VMs of any ${f} failed host(s) (automation setting haFailures = ${f}). Add hosts, free memory, or lower it: drover automation set --ha-failures N`, 'ha');
}

function deficitText(d: { cpu: number; mem: number }): string {
  const parts = [d.mem > EPS ? `${Math.ceil(d.mem)} MiB of memory` : '', d.cpu > EPS ? `${Math.round(d.cpu * 100) / 100} vCPUs` : ''].filter(Boolean);
  return parts.join(' and ');
}

/** Refuses turning `vm` HA when, counted as HA where it runs, a shortfall would appear or grow. */
export async function checkTurnHa(ctx: ControllerContext, vm: VmRecord): Promise<void> {
  if (vm.spec.ha === true || !usesResources(vm.phase) || vm.hostId === null) return;
  const f = await haFailures(ctx);
  if (f <= 0) return;
  const s = await liveClusterSnapshot(ctx, Date.now(), { failures: f });
  const after = grownShortfall(s, { ...s, vms: s.vms.map((v) => (v.id === vm.id ? { ...v, ha: true } : v)) });
  if (after) throw admissionError(f, `as an HA VM ${vm.name} would leave the Ready hosts short by ${deficitText(after)} to restart the HA VMs of any ${f} failed host(s)`);
}

/**
 * Refuses starting a stopped HA VM when, counted as running on its host, a
 * shortfall would appear or grow. A VM that holds resources already (or
 * whose host is not Ready, so it counts nowhere) changes nothing here.
 */
export async function checkStartHa(ctx: ControllerContext, vm: VmRecord): Promise<void> {
  if (vm.spec.ha !== true || usesResources(vm.phase) || vm.hostId === null) return;
  const f = await haFailures(ctx);
  if (f <= 0) return;
  const s = await liveClusterSnapshot(ctx, Date.now(), { failures: f });
  const subject = withConstraints({ id: vm.id, name: vm.name, cpus: vm.spec.cpus, memoryMiB: vm.spec.memoryMiB, host: vm.hostId }, vm.spec);
  const after = grownShortfall(s, withStartedHaVm(s, subject));
  if (after) throw admissionError(f, `started, HA VM ${vm.name} would leave the Ready hosts short by ${deficitText(after)} to restart the HA VMs of any ${f} failed host(s)`);
}

/** GET /v1/pool's `ha`: failover on or off, and whether admission holds now. */
export async function poolHa(ctx: ControllerContext, free: { memoryMiB: number; cpus: number }): Promise<PoolHa> {
  const f = await haFailures(ctx);
  const cfg = ctx.ha.config;
  const failover = cfg
    ? { failover: true, ioTimeoutMs: cfg.timing.ioTimeoutMs, heartbeatSuspectMs: cfg.timing.heartbeatSuspectMs, expireAfterMs: cfg.timing.expireAfterMs }
    : { failover: false, reason: ctx.ha.status({ id: '', state: 'Ready' }).reason };
  if (f <= 0) return { ...failover, failures: 0, admission: { holds: true, spareMemoryMiB: free.memoryMiB, spareCpus: free.cpus } };
  const s: ClusterSnapshot = await liveClusterSnapshot(ctx, Date.now(), { failures: f });
  const d = haDeficits(s);
  return { ...failover, failures: f, admission: { holds: d.mem <= EPS && d.cpu <= EPS, spareMemoryMiB: Math.round(-d.mem), spareCpus: Math.round(-d.cpu * 100) / 100 } };
}
