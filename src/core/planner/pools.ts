// Resource pools in the planner (docs/resource-pools.md): what each pool's
// VMs hold, kept up to date as VMs are placed, and the check of a placement
// against pool limits and reservations (src/core/resource-pools.ts). VMs that
// were on a host in the snapshot count from the start; a VM placed by the
// plan counts once placed. Moves never change what a pool holds, so only
// VMs not counted yet are checked: once per need, whatever the host.
import { topReservations } from '../resource-pool-tree.js';
import { accountPools, admitVm, unusedReservations, type Amount, type PoolDef } from '../resource-pools.js';
import type { Need } from './constraints.js';
import type { ClusterSnapshot } from './snapshot.js';

export interface PoolVerdict {
  constraint: 'pool-limit' | 'pool-reservation';
  detail: string;
}

export class PoolState {
  readonly defs: PoolDef[];
  /** Per VM: its pool's name, or undefined (none, or a pool the snapshot does not list). */
  private readonly vmPool: Array<string | undefined>;
  private readonly counted: Uint8Array;
  private readonly direct = new Map<string, Amount>();

  constructor(snapshot: ClusterSnapshot) {
    this.defs = (snapshot.pools ?? []).map((p) => ({ name: p.id, ...(p.parent !== undefined ? { parent: p.parent } : {}), ...(p.cpu ? { cpu: p.cpu } : {}), ...(p.memory ? { memory: p.memory } : {}) }));
    const known = new Set(this.defs.map((p) => p.name));
    this.vmPool = snapshot.vms.map((v) => (v.pool !== undefined && known.has(v.pool) ? v.pool : undefined));
    this.counted = new Uint8Array(snapshot.vms.length);
    snapshot.vms.forEach((v, i) => {
      if (v.host !== null) this.count(i, v.cpus, v.memoryMiB);
    });
  }

  private count(v: number, cpu: number, memoryMiB: number): void {
    this.counted[v] = 1;
    const p = this.vmPool[v];
    if (p === undefined) return;
    const d = this.direct.get(p) ?? { cpu: 0, memoryMiB: 0 };
    this.direct.set(p, { cpu: d.cpu + cpu, memoryMiB: d.memoryMiB + memoryMiB });
  }

  /**
   * What the hosts left on must keep for the pools: physical capacity for the
   * top-level reservations, and allocatable room for the part not used yet.
   */
  floor(): { physical: Amount; unused: Amount } {
    return { physical: topReservations(this.defs), unused: unusedReservations(this.defs, accountPools(this.defs, this.direct)) };
  }

  /** A VM the plan placed: from now on it counts in its pool. */
  placed(v: number, cpu: number, memoryMiB: number): void {
    if (!this.counted[v]) this.count(v, cpu, memoryMiB);
  }

  /**
   * Whether the need's VMs not counted yet may hold resources: `spare` is the
   * free allocatable room on the ready hosts with the need's VMs detached.
   */
  verdict(need: Need, size: (v: number) => Amount, spare: Amount, names: (v: number) => string): PoolVerdict | null {
    const fresh = need.members.filter((v) => !this.counted[v]);
    if (fresh.length === 0) return null;
    const direct = new Map(this.direct);
    // The members already counted come back: their room is taken before the new ones'.
    const free = { cpu: spare.cpu - need.cpu, memoryMiB: spare.memoryMiB - need.mem };
    for (const v of fresh) {
      const s = size(v);
      free.cpu += s.cpu;
      free.memoryMiB += s.memoryMiB;
    }
    for (const v of fresh) {
      const s = size(v);
      const pool = this.vmPool[v];
      const problem = admitVm({ pools: this.defs, direct, free }, pool, s, `placing VM ${names(v)}`);
      if (problem) return { constraint: problem.kind === 'limit' ? 'pool-limit' : 'pool-reservation', detail: problem.message };
      if (pool !== undefined) direct.set(pool, { cpu: (direct.get(pool)?.cpu ?? 0) + s.cpu, memoryMiB: (direct.get(pool)?.memoryMiB ?? 0) + s.memoryMiB });
      free.cpu -= s.cpu;
      free.memoryMiB -= s.memoryMiB;
    }
    return null;
  }

  /** Why placed VM v may not hold `extra` more while it runs (goal grow), with `spare` the free allocatable room on the ready hosts now. */
  growProblem(v: number, extra: Amount, spare: Amount, name: string): PoolVerdict | null {
    const problem = admitVm({ pools: this.defs, direct: this.direct, free: spare }, this.vmPool[v], extra, `growing VM ${name}`);
    return problem ? { constraint: problem.kind === 'limit' ? 'pool-limit' : 'pool-reservation', detail: problem.message } : null;
  }

  /** A VM the plan grew: its pool holds `extra` more. */
  grown(v: number, extra: Amount): void {
    const pool = this.vmPool[v];
    if (pool === undefined) return;
    const d = this.direct.get(pool) ?? { cpu: 0, memoryMiB: 0 };
    this.direct.set(pool, { cpu: d.cpu + extra.cpu, memoryMiB: d.memoryMiB + extra.memoryMiB });
  }
}
