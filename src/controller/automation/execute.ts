// Carries out one automatic decision through the same code paths people use:
// a migration as `drover vm migrate VM --to HOST` starts it (its job queues
// per host like any other), standby as `drover host standby`, a power-on as
// `drover host activate`, a resize as `drover vm resize VM --cpus N`. Only the first wave runs in a pass (later waves
// depend on it; the next pass plans them again on the cluster as it is then).
// Whatever changed since the snapshot is checked again first: the VM must
// still be where the plan found it, and no host in Maintenance (or any state
// but the one the action expects) is touched.
import type { Recommendation } from '../../api/automation.js';
import type { ControllerContext } from '../context.js';
import { setHostState } from '../job-kinds/host-maintenance.js';
import { startMigration } from '../migration-start.js';
import { requestResize } from '../vm-resize.js';
import { standbyHost } from '../host-standby.js';
import type { HostRecord } from '../records.js';

type Outcome = Pick<Recommendation, 'state' | 'detail' | 'migrationId' | 'jobId'>;

/** Why the automation leaves this host alone, or undefined when it is in the state the action needs. */
function hostProblem(host: HostRecord | undefined, id: string, want: HostRecord['state']): string | undefined {
  if (!host) return `host ${id} no longer exists`;
  if (host.state === want) return undefined;
  if (host.state === 'Maintenance') return `host ${host.name} is in Maintenance: automation never acts on hosts in maintenance`;
  return `host ${host.name} is ${host.state}, not ${want}`;
}

async function migrate(ctx: ControllerContext, vmId: string, from: string, to: string): Promise<Outcome> {
  const vm = (await ctx.state.getVm(vmId))?.data;
  if (!vm) return { state: 'skipped', detail: 'the VM no longer exists' };
  if (vm.hostId !== from) return { state: 'skipped', detail: `${vm.name} is no longer on the host the plan found it on` };
  if (vm.migration) return { state: 'skipped', detail: `${vm.name} is already migrating (migration ${vm.migration.id})` };
  for (const id of [from, to]) {
    const problem = hostProblem((await ctx.state.getHost(id))?.data, id, 'Ready');
    if (problem) return { state: 'skipped', detail: problem };
  }
  // The plan keeps every must-constraint (VMs that must share a host move together, one migration each): only the run checks apply.
  const r = await startMigration(ctx, vm.id, { to }, { planned: true });
  return { state: 'started', migrationId: r.migration.id, jobId: r.job.id, detail: `migration ${r.migration.id} (job ${r.job.id}) started` };
}

async function resize(ctx: ControllerContext, vmId: string, hostId: string, cpus: number): Promise<Outcome> {
  const vm = (await ctx.state.getVm(vmId))?.data;
  if (!vm) return { state: 'skipped', detail: 'the VM no longer exists' };
  if (vm.hostId !== hostId) return { state: 'skipped', detail: `${vm.name} is no longer on the host the plan grows it on` };
  if (vm.spec.cpus >= cpus) return { state: 'skipped', detail: `${vm.name} has ${vm.spec.cpus} vCPUs already` };
  const problem = hostProblem((await ctx.state.getHost(hostId))?.data, hostId, 'Ready');
  if (problem) return { state: 'skipped', detail: problem };
  // The same checks as a person's resize: maxima, the host's room; never a move (the plan moves it first when needed).
  const r = await requestResize(ctx, vm.name, { cpus });
  return { state: 'started', jobId: r.job.id, detail: `resize of ${vm.name} to ${cpus} vCPUs (job ${r.job.id}) started` };
}

async function standby(ctx: ControllerContext, hostId: string): Promise<Outcome> {
  const host = (await ctx.state.getHost(hostId))?.data;
  const problem = hostProblem(host, hostId, 'Ready');
  if (problem) return { state: 'skipped', detail: problem };
  await standbyHost(ctx, host!);
  return { state: 'done', detail: `host ${host!.name} is in Standby` };
}

async function powerOn(ctx: ControllerContext, hostId: string, atMs: number | undefined, nowMs: number): Promise<Outcome> {
  if (atMs !== undefined && atMs > nowMs) return { state: 'deferred', detail: `due at ${new Date(atMs).toISOString()}; a later pass carries it out` };
  const host = (await ctx.state.getHost(hostId))?.data;
  const problem = hostProblem(host, hostId, 'Standby');
  if (problem) return { state: 'skipped', detail: problem };
  await setHostState(ctx.state, hostId, 'Ready');
  return { state: 'done', detail: `host ${host!.name} is Ready again` };
}

async function act(ctx: ControllerContext, r: Recommendation, nowMs: number): Promise<Outcome> {
  if ((r.wave ?? 0) > 0) return { state: 'deferred', detail: `wave ${r.wave}: it waits for the moves before it; the next pass plans it again` };
  const a = r.action;
  switch (a.kind) {
    case 'migrate':
      return migrate(ctx, a.vm, a.from, a.to);
    case 'standby':
      return standby(ctx, a.host);
    case 'power-on':
      return powerOn(ctx, a.host, a.atMs, nowMs);
    case 'resize':
      return resize(ctx, a.vm, a.host, a.cpus);
    default:
      return { state: 'skipped', detail: `automation does not carry out ${a.kind} actions` };
  }
}

/** The decision with its outcome; a refusal or an error is a `failed` outcome, never a throw. */
export async function carryOut(ctx: ControllerContext, r: Recommendation, nowMs: number): Promise<Recommendation> {
  try {
    return { ...r, ...(await act(ctx, r, nowMs)) };
  } catch (err) {
    return { ...r, state: 'failed', detail: (err as Error).message };
  }
}
