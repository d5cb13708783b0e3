// The retry of HA VMs left on failed hosts (docs/failover.md, "Retry"). A
// failover job that found no room for some VMs leaves them assigned to their
// Fenced host. Every few polls the monitor looks again: if any are left, no
// ha.failover job runs for their host, and something that could give room
// changed since a failover job last placed what it could (a cheap
// fingerprint of the Ready hosts, the memory and vCPUs used on them, the
// number of VMs, groups and settings, and the waiting VMs themselves), it
// creates a new ha.failover job for them. A retry that finds no room changes
// nothing in the fingerprint, so it is not tried again until something does:
// no loop of failing jobs. The fingerprint lives in memory: a restarted
// controller tries once.
import type { HostRecord, VmRecord } from '../records.js';
import { retryReason, roomFingerprint, waitingOnFailedHosts, type RoomFingerprint, type RoomHost } from '../../core/ha-failover.js';
import { loadSettings } from '../automation/settings.js';
import { buildClusterSnapshot } from '../cluster-snapshot.js';
import type { ControllerContext } from '../context.js';
import { KIND } from '../records.js';
import { createOp } from '../state.js';
import { failoverRetryEvent } from './events.js';
import { failoverParams, jobTargetOf } from './failover-params.js';
import { hostUnfitForHa } from './restart.js';

/** How often (in monitor polls) the monitor looks for HA VMs to retry. */
export const RETRY_EVERY_POLLS = 4;

interface Look {
  fingerprint: RoomFingerprint;
  /** The waiting VMs whose host no ha.failover job covers now, in restart order. */
  free: VmRecord[];
  hosts: HostRecord[];
}

export class FailoverRetry {
  private tried: RoomFingerprint | undefined;
  private polls = 0;

  constructor(private readonly ctx: () => ControllerContext) {}

  /** A failover job placed what it could: the cluster as it is now gave no more room. */
  async noteTried(): Promise<void> {
    try {
      this.tried = (await this.look()).fingerprint;
    } catch (err) {
      // Bookkeeping only: the next poll simply retries once more.
      this.ctx().log.warn({ err }, 'HA retry: could not note the cluster a failover job saw');
    }
  }

  /**
   * Called every poll with the hosts it judged; looks every RETRY_EVERY_POLLS
   * polls while some host is Fenced. Those hosts, not a newer list: a host
   * that just turned Ready counts once the poll has judged it alive.
   */
  async onPoll(hosts: readonly { data: HostRecord }[]): Promise<void> {
    if (++this.polls % RETRY_EVERY_POLLS !== 0 || !hosts.some((h) => h.data.state === 'Fenced')) return;
    const look = await this.look(hosts.map((h) => h.data));
    if (look.free.length === 0) return;
    const why = retryReason(this.tried, look.fingerprint);
    if (!why) return;
    this.tried = look.fingerprint;
    await this.createJob(look, why);
  }

  private async createJob(look: Look, why: string): Promise<void> {
    const ctx = this.ctx();
    const ids = new Set(look.free.map((v) => v.hostId));
    const hosts = look.hosts.filter((h) => ids.has(h.id)).map((h) => ({ id: h.id, name: h.name }));
    const ordered = look.free.map((v) => ({ id: v.id, name: v.name, hostId: v.hostId! }));
    const job = ctx.runner.newJob('ha.failover', jobTargetOf(hosts), failoverParams(hosts, ordered, {}, true));
    const names = hosts.map((h) => h.name);
    const labels = ordered.map((v) => (hosts.length > 1 ? `${v.name} (${hosts.find((h) => h.id === v.hostId)?.name})` : v.name));
    await ctx.state.commit([createOp(KIND.job, job.id, job)], [failoverRetryEvent(names, job.id, labels, why)]);
    ctx.log.warn(`retrying the failover of ${labels.join(', ')} (${why}); job ${job.id}`);
    ctx.runner.start(job);
  }

  private async look(judged?: HostRecord[]): Promise<Look> {
    const ctx = this.ctx();
    const [hosts, vmsV, images, groups, jobs, settings] = await Promise.all([
      judged ?? ctx.state.listHosts().then((l) => l.map((h) => h.data)), ctx.state.listVms(), ctx.state.listImages(), ctx.state.listGroups(), ctx.state.listJobs(), loadSettings(ctx.state),
    ]);
    const vms = vmsV.map((v) => v.data);
    const fenced = new Set(hosts.filter((h) => h.state === 'Fenced').map((h) => h.id));
    const waiting = waitingOnFailedHosts(vms.map((v) => ({ ...v, ha: v.spec.ha, haPriority: v.spec.haPriority, storage: v.spec.storage, migrating: v.migration !== undefined })), fenced);
    const covered = new Set(jobs.filter((j) => j.data.kind === 'ha.failover' && j.data.state === 'running').flatMap((j) => j.data.params.hostIds ?? []));
    const snapshot = buildClusterSnapshot({ hosts, vms, migrations: [], volumes: [], usage: () => ({}), nowMs: 0 });
    // Only hosts that may take HA VMs now: one that just came back counts once it is judged alive, not before.
    const fit = snapshot.hosts.filter((sh) => sh.state === 'ready' && hostUnfitForHa(ctx, hosts.find((x) => x.id === sh.id)!) === undefined);
    const roomHosts: RoomHost[] = fit.map((sh) => {
      const h = hosts.find((x) => x.id === sh.id)!;
      const held = images.filter((i) => i.data.hosts.includes(h.id)).map((i) => i.data.name).sort();
      const on = snapshot.vms.filter((v) => v.host === h.id || v.migratingTo === h.id);
      const traits = JSON.stringify([sh, h.inventory?.sharedPool?.id, held]);
      return { id: h.id, name: h.name, traits, usedCpus: on.reduce((a, v) => a + v.cpus, 0), usedMemoryMiB: on.reduce((a, v) => a + v.memoryMiB, 0) };
    });
    const { updatedAt: _u, ...stable } = settings;
    const setup = JSON.stringify([stable, groups.map((g) => [g.data.name, g.data.kind, g.data.strength, [...g.data.vmIds].sort()]).sort()]);
    const placed = (v: VmRecord) => JSON.stringify([v.spec.cpus, v.spec.memoryMiB, v.spec.image, v.spec.hostRules, v.spec.network, v.spec.ports]);
    return {
      fingerprint: roomFingerprint(roomHosts, vms.length, setup, waiting.map((v) => ({ id: v.id, name: v.name, traits: placed(v) }))),
      free: waiting.filter((v) => !covered.has(v.hostId!)),
      hosts,
    };
  }
}
