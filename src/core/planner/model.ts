// The planner's working state: hosts and VMs as flat arrays (index = position
// in the snapshot), what each host holds, group membership counts per host,
// and the indexes (max trees) placement and HA admission read. Every goal
// mutates one Model as it plans, and reads the snapshot only through it.
import { MaxTree } from './max-tree.js';
import { PoolState } from './pools.js';
import type { ResolvedPolicy } from './policy.js';
import type { ClusterSnapshot } from './snapshot.js';

/** vmHost values besides a host index. */
export const UNPLACED = -1;
/** On a host the snapshot does not list (it failed or left): its VMs hold nothing anywhere. */
export const FAILED = -2;

export interface GroupInfo {
  id: string;
  anti: boolean;
  must: boolean;
  vms: number[];
}

export interface ModelOptions {
  /** Fraction of a host's physical CPU and memory its VMs' load may reach (consolidation: 1 - headroom). */
  loadLimit?: number;
  /** Host order of the pack index (default: the snapshot's order). */
  order?: readonly number[];
}

const NO_GROUPS: number[] = [];

export class Model {
  readonly H: number;
  readonly hostIds: string[];
  readonly hostIndex = new Map<string, number>();
  readonly ready: Uint8Array;
  readonly capCpu: Float64Array;
  readonly capMem: Float64Array;
  readonly capDisk: Float64Array;
  readonly physCpu: Float64Array;
  readonly physMem: Float64Array;
  readonly allocCpu: Float64Array;
  readonly allocMem: Float64Array;
  readonly allocDisk: Float64Array;
  readonly loadCpu: Float64Array;
  readonly loadMem: Float64Array;
  readonly haCpu: Float64Array;
  readonly haMem: Float64Array;
  readonly maxMigrations: Int32Array;
  /** VMs migrating to the host (snapshot `migratingTo`): their amounts are counted here as well as on their source. */
  readonly incoming: Int32Array;
  readonly hostVms: Array<Set<number>>;
  readonly hostGroups: Array<Map<number, number>>;

  readonly V: number;
  readonly vmIds: string[];
  readonly vmIndex = new Map<string, number>();
  readonly vmHost: Int32Array;
  readonly cpu: Float64Array;
  readonly mem: Float64Array;
  readonly disk: Float64Array;
  readonly cpuLoad: Float64Array;
  readonly memLoad: Float64Array;
  readonly ha: Uint8Array;
  readonly vmGroups: number[][];
  readonly groups: GroupInfo[] = [];
  readonly groupPlaced: Int32Array;

  readonly fit: MaxTree;
  readonly haCpuTree: MaxTree;
  readonly haMemTree: MaxTree;
  spareCpu = 0;
  spareMem = 0;
  /** Free-memory indexes over subsets of hosts (those a label rule allows), kept in step with `fit`. */
  private readonly subIndexes: MaxTree[] = [];
  readonly loadLimit: number | undefined;
  /** Resource pools (snapshot `pools`), or null when there are none. */
  readonly pools: PoolState | null;

  constructor(readonly snapshot: ClusterSnapshot, readonly policy: ResolvedPolicy, opts: ModelOptions = {}) {
    const hosts = snapshot.hosts;
    const vms = snapshot.vms;
    const H = (this.H = hosts.length);
    const V = (this.V = vms.length);
    const f64 = (n: number) => new Float64Array(n);
    this.hostIds = hosts.map((h) => h.id);
    hosts.forEach((h, i) => this.hostIndex.set(h.id, i));
    this.ready = new Uint8Array(H);
    [this.capCpu, this.capMem, this.capDisk, this.physCpu, this.physMem] = [f64(H), f64(H), f64(H), f64(H), f64(H)];
    [this.allocCpu, this.allocMem, this.allocDisk, this.loadCpu, this.loadMem, this.haCpu, this.haMem] = [f64(H), f64(H), f64(H), f64(H), f64(H), f64(H), f64(H)];
    this.maxMigrations = new Int32Array(H);
    this.incoming = new Int32Array(H);
    this.hostVms = hosts.map(() => new Set<number>());
    this.hostGroups = hosts.map(() => new Map<number, number>());
    this.vmIds = vms.map((v) => v.id);
    vms.forEach((v, i) => this.vmIndex.set(v.id, i));
    this.vmHost = new Int32Array(V).fill(UNPLACED);
    [this.cpu, this.mem, this.disk, this.cpuLoad, this.memLoad] = [f64(V), f64(V), f64(V), f64(V), f64(V)];
    this.ha = new Uint8Array(V);
    this.vmGroups = new Array<number[]>(V).fill(NO_GROUPS);
    this.loadLimit = opts.loadLimit;
    this.pools = snapshot.pools && snapshot.pools.length > 0 ? new PoolState(snapshot) : null;
    this.initHosts();
    this.initVms();
    this.groupPlaced = new Int32Array(this.groups.length);
    this.initGroups();
    this.fit = new MaxTree(H, opts.order);
    this.haCpuTree = new MaxTree(H);
    this.haMemTree = new MaxTree(H);
    for (let v = 0; v < V; v++) this.attachInitial(v);
    for (let h = 0; h < H; h++) {
      if (this.ready[h]) this.addSpare(h, 1);
      this.touch(h);
    }
  }

  private initHosts(): void {
    const p = this.policy;
    this.snapshot.hosts.forEach((h, i) => {
      this.ready[i] = h.state === 'ready' ? 1 : 0;
      this.physCpu[i] = Math.max(1e-9, h.cpus - (h.reservedCpus ?? 0));
      this.physMem[i] = Math.max(1e-9, h.memoryMiB - (h.reservedMemoryMiB ?? 0));
      this.capCpu[i] = (h.cpus - (h.reservedCpus ?? 0)) * p.overcommitCpu;
      this.capMem[i] = (h.memoryMiB - (h.reservedMemoryMiB ?? 0)) * p.overcommitMemory;
      this.capDisk[i] = h.diskGiB ?? Infinity;
      this.maxMigrations[i] = Math.max(1, h.maxMigrations ?? p.migrationsPerHost);
    });
  }

  private initVms(): void {
    this.snapshot.vms.forEach((v, i) => {
      this.cpu[i] = v.cpus;
      this.mem[i] = v.memoryMiB;
      this.disk[i] = v.localDiskGiB ?? 0;
      this.cpuLoad[i] = v.cpuUsage ?? v.cpus;
      this.memLoad[i] = v.memoryUsageMiB ?? v.memoryMiB;
      this.ha[i] = v.ha ? 1 : 0;
    });
  }

  /** Membership is the union of group.vms and vm.groups; unknown ids are ignored. */
  private initGroups(): void {
    const byId = new Map<string, number>();
    for (const g of this.snapshot.groups ?? []) {
      if (byId.has(g.id)) continue;
      byId.set(g.id, this.groups.length);
      this.groups.push({ id: g.id, anti: g.kind === 'anti-affinity', must: g.strength === 'must', vms: [] });
    }
    const join = (gi: number, v: number) => {
      const list = this.vmGroups[v] === NO_GROUPS ? (this.vmGroups[v] = []) : this.vmGroups[v]!;
      if (list.includes(gi)) return;
      list.push(gi);
      this.groups[gi]!.vms.push(v);
    };
    (this.snapshot.groups ?? []).forEach((g) => {
      const gi = byId.get(g.id)!;
      for (const id of g.vms) {
        const v = this.vmIndex.get(id);
        if (v !== undefined) join(gi, v);
      }
    });
    this.snapshot.vms.forEach((vm, v) => {
      for (const id of vm.groups ?? []) {
        const gi = byId.get(id);
        if (gi !== undefined) join(gi, v);
      }
    });
  }

  private attachInitial(v: number): void {
    const hostId = this.snapshot.vms[v]!.host;
    if (hostId === null) return;
    const h = this.hostIndex.get(hostId);
    if (h === undefined) {
      this.vmHost[v] = FAILED;
      return;
    }
    this.vmHost[v] = h;
    this.account(v, h, 1);
    const to = this.snapshot.vms[v]!.migratingTo;
    const t = to === undefined ? undefined : this.hostIndex.get(to);
    if (t !== undefined && t !== h) this.addIncoming(v, t);
  }

  /** A VM in flight holds its allocation and load on its target too (never HA there: it is not running there yet). */
  private addIncoming(v: number, t: number): void {
    this.allocCpu[t]! += this.cpu[v]!;
    this.allocMem[t]! += this.mem[v]!;
    this.allocDisk[t]! += this.disk[v]!;
    this.loadCpu[t]! += this.cpuLoad[v]!;
    this.loadMem[t]! += this.memLoad[v]!;
    this.incoming[t]!++;
  }

  /** A live migration of the VM is under way (snapshot `migratingTo`): no plan moves it. */
  inFlight(v: number): boolean {
    return this.snapshot.vms[v]!.migratingTo !== undefined;
  }

  /** Adds (sign 1) or removes (sign -1) a VM's amounts on a host, without touching the indexes. */
  private account(v: number, h: number, sign: 1 | -1): void {
    this.allocCpu[h]! += sign * this.cpu[v]!;
    this.allocMem[h]! += sign * this.mem[v]!;
    this.allocDisk[h]! += sign * this.disk[v]!;
    this.loadCpu[h]! += sign * this.cpuLoad[v]!;
    this.loadMem[h]! += sign * this.memLoad[v]!;
    if (this.ha[v]) {
      this.haCpu[h]! += sign * this.cpu[v]!;
      this.haMem[h]! += sign * this.mem[v]!;
    }
    if (sign > 0) this.hostVms[h]!.add(v);
    else this.hostVms[h]!.delete(v);
    const counts = this.hostGroups[h]!;
    for (const g of this.vmGroups[v]!) {
      const n = (counts.get(g) ?? 0) + sign;
      if (n === 0) counts.delete(g);
      else counts.set(g, n);
      this.groupPlaced[g]! += sign;
    }
  }

  private addSpare(h: number, sign: 1 | -1): void {
    this.spareCpu += sign * (this.capCpu[h]! - this.allocCpu[h]!);
    this.spareMem += sign * (this.capMem[h]! - this.allocMem[h]!);
  }

  /** A free-memory index over some hosts (ordered as in `fit`), kept up to date from now on. */
  subIndex(hosts: readonly number[]): MaxTree {
    const order = [...hosts].sort((a, b) => this.fit.position(a) - this.fit.position(b));
    const tree = new MaxTree(this.H, order);
    for (const h of order) tree.set(h, this.fit.get(h));
    this.subIndexes.push(tree);
    return tree;
  }

  /** Recomputes a host's index keys. */
  private touch(h: number): void {
    const key = this.ready[h] ? this.fitKey(h) : -Infinity;
    for (const t of this.subIndexes) t.set(h, key);
    if (!this.ready[h]) {
      this.fit.set(h, -Infinity);
      this.haCpuTree.set(h, -Infinity);
      this.haMemTree.set(h, -Infinity);
      return;
    }
    this.fit.set(h, key);
    this.haCpuTree.set(h, this.haCpu[h]! + this.capCpu[h]! - this.allocCpu[h]!);
    this.haMemTree.set(h, this.haMem[h]! + this.capMem[h]! - this.allocMem[h]!);
  }

  /** Memory a VM may still take on the host: hard free memory, and under a load limit the load room too. */
  fitKey(h: number): number {
    const free = this.capMem[h]! - this.allocMem[h]!;
    if (this.loadLimit === undefined) return free;
    return Math.min(free, this.loadLimit * this.physMem[h]! - this.loadMem[h]!);
  }

  place(v: number, h: number): void {
    if (this.vmHost[v]! >= 0) this.remove(v);
    this.vmHost[v] = h;
    if (this.ready[h]) this.addSpare(h, -1);
    this.account(v, h, 1);
    if (this.ready[h]) this.addSpare(h, 1);
    this.touch(h);
    this.pools?.placed(v, this.cpu[v]!, this.mem[v]!);
  }

  /** Takes a VM off its host (it becomes unplaced). */
  remove(v: number): void {
    const h = this.vmHost[v]!;
    if (h < 0) return;
    if (this.ready[h]) this.addSpare(h, -1);
    this.account(v, h, -1);
    if (this.ready[h]) this.addSpare(h, 1);
    this.vmHost[v] = UNPLACED;
    this.touch(h);
  }

  setReady(h: number, ready: boolean): void {
    if (Boolean(this.ready[h]) === ready) return;
    this.addSpare(h, ready ? 1 : -1);
    this.ready[h] = ready ? 1 : 0;
    this.touch(h);
  }

  /** Load utilization: the larger of CPU load / physical CPUs and memory load / physical memory. */
  util(h: number): number {
    return Math.max(this.loadCpu[h]! / this.physCpu[h]!, this.loadMem[h]! / this.physMem[h]!);
  }

  groupCountOn(h: number, g: number): number {
    return this.hostGroups[h]!.get(g) ?? 0;
  }

  hostName(h: number): string {
    return this.snapshot.hosts[h]!.name ?? this.hostIds[h]!;
  }
}
