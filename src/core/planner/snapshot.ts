// The cluster snapshot the planner works on, and its file format
// (`drover snapshot`, `drover plan --snapshot FILE.json`). The field names
// are a public contract: other tools produce this file. Keep them stable;
// add optional fields only. Documented in docs/planner.md.

export type HostPlanState = 'ready' | 'maintenance' | 'standby';

export interface SnapshotHost {
  id: string;
  /** A name people use (`drover plan --goal evacuate:NAME` accepts it as well as the id). */
  name?: string;
  cpus: number;
  memoryMiB: number;
  state: HostPlanState;
  labels?: Record<string, string>;
  /** Local disk free for VMs whose disks live in the host's local pool. */
  diskGiB?: number;
  /** Resources held back for the host itself (not for VMs). */
  reservedCpus?: number;
  reservedMemoryMiB?: number;
  /** Migrations this host may run at once (default policy.migrationsPerHost). */
  maxMigrations?: number;
  /** Seconds from power-on to Ready (for planning power-ons ahead of demand). */
  bootSeconds?: number;
}

export interface SnapshotVm {
  id: string;
  /** A name people use, shown by --explain. */
  name?: string;
  cpus: number;
  memoryMiB: number;
  /** vCPUs it can be grown to while it runs (goal grow); absent: it cannot grow. */
  maxCpus?: number;
  /** The host it runs on, or null when it is not placed yet. */
  host: string | null;
  /** Measured use, when known: cores busy and memory in use. Allocation is used otherwise. */
  cpuUsage?: number;
  memoryUsageMiB?: number;
  /** Disk in the host's local pool (needs room on the host; moves cost more). */
  localDiskGiB?: number;
  /** Ids of groups (affinity/anti-affinity) it belongs to; groups also list their VMs. */
  groups?: string[];
  /** Id of the resource pool it belongs to (snapshot `pools`; docs/resource-pools.md). */
  pool?: string;
  /** Restart elsewhere when its host fails (counts in HA admission). */
  ha?: boolean;
  /** HA restart priority: higher first (default 0). */
  priority?: number;
  /** Dirty rate in MiB/s when known (raises the cost of moving it). */
  dirtyMiBs?: number;
  /** Host labels it must / should run on: label key=value pairs. */
  hostRules?: Array<{ labels: Record<string, string>; strength: 'must' | 'should' }>;
  /** When it last moved (ms on the planner clock), for the balancer's cooldown. */
  lastMovedAtMs?: number;
  /** When it was last resized (ms on the planner clock), for the grow cooldown; a resize under way counts as now. */
  lastResizedAtMs?: number;
  /**
   * A live migration of it to this host is under way: it counts on both its
   * host and this one, and no plan moves it (docs/planner.md, "In flight").
   */
  migratingTo?: string;
}

/** A resource pool: what the cluster keeps for its VMs (reservation) and the most they may hold (limit). */
export interface SnapshotPool {
  id: string;
  /** A top-level pool this one is in (one level of nesting). */
  parent?: string;
  cpu?: { reservationCores?: number; limitCores?: number };
  memory?: { reservationMiB?: number; limitMiB?: number };
}

export interface SnapshotGroup {
  id: string;
  kind: 'affinity' | 'anti-affinity';
  strength: 'must' | 'should';
  vms: string[];
}

export interface PlannerPolicy {
  /** Allocation may exceed capacity by this factor (cpu default 4, memory default 1 = off). */
  overcommit?: { cpu?: number; memory?: number };
  /** Fraction of capacity kept free on hosts left on by consolidation (default 0.2). */
  headroom?: number;
  /** Host failures HA admission must survive (default 1). */
  failures?: number;
  placement?: 'spread' | 'pack';
  /** Balancer: imbalance above which it moves VMs (default 0.1), moves per pass (default 8), per-VM cooldown (default 1 h). */
  balance?: { threshold?: number; maxMoves?: number; cooldownMs?: number; automation?: 'off' | 'recommend' | 'automatic' };
  /** Migrations a host may run at once (default 2). */
  migrationsPerHost?: number;
  /**
   * Balancer cost/benefit (docs/planner.md): a move's benefit is the imbalance it removes times
   * `horizonS` (default 1800); its cost is its estimated migration time times `costWeight` (default 1),
   * the time being memory / (bandwidthMiBs - dirty rate) plus local disk / bandwidthMiBs (default 1000 MiB/s).
   * `hysteresis` (default 0.5): once a pass starts it goes on down to threshold * hysteresis.
   */
  balanceCost?: { horizonS?: number; costWeight?: number; bandwidthMiBs?: number; hysteresis?: number };
  /** Power: how far ahead (ms, default 1 h) the forecast keeps hosts on; hosts always left on (default 1). */
  power?: { lookaheadMs?: number; minHostsOn?: number };
  /**
   * Grow (docs/automation.md, "Reallocation by need"): a VM busy on at least `cpuAt` of its vCPUs
   * (default 0.85) is grown to the vCPUs that bring it to `targetUtil` (default 0.7), up to its maxCpus,
   * at most once per `cooldownMs` (default 10 min).
   */
  grow?: { cpuAt?: number; targetUtil?: number; cooldownMs?: number };
}

/** Forecast cluster demand at a time: cores busy and memory in use over all VMs. */
export interface ForecastPoint {
  atMs: number;
  cpu: number;
  memoryMiB: number;
}

export interface ClusterSnapshot {
  /** Planner clock, ms (the caller passes it; core never reads a clock). */
  nowMs?: number;
  hosts: SnapshotHost[];
  vms: SnapshotVm[];
  groups?: SnapshotGroup[];
  /** Resource pools: placement keeps their limits and reservations, consolidation keeps room for their reservations. */
  pools?: SnapshotPool[];
  policy?: PlannerPolicy;
  /** Forecast or scheduled demand (the power planner wakes standby hosts ahead of it). */
  forecast?: ForecastPoint[];
}
