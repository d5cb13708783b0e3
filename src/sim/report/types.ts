// report.json of `drover sim run`: per-step series, hourly figures, totals,
// what the planner did, and a log of notable events. Every number comes from
// the virtual clock and the seeded model, never from the machine's clock, so
// the same scenario and seed give a byte-identical file.

export interface SimReport {
  scenario: { name: string; description: string; seed: number; durationHours: number; stepMinutes: number; hosts: number; vms: number };
  series: {
    /** Time of each sample, hours from the start. */
    tHours: number[];
    /** Hosts drawing power: on, booting, or on their way to standby. */
    activeHosts: number[];
    bootingHosts: number[];
    standbyHosts: number[];
    failedHosts: number[];
    /** CPU demand of all VMs that exist, cores. */
    demandCores: number[];
    /** CPU utilization (demand / capacity) across the hosts that are on: percentiles, fractions. */
    cpuUtil: { p10: number[]; p50: number[]; p90: number[]; max: number[] };
    memUtilP50: number[];
    /** Migrations started during the step. */
    migrations: number[];
    /** VMs that should run but do not (not placed, lost with their host, or still starting), and their demand. */
    unplaced: { vms: number[]; cores: number[]; memoryGiB: number[] };
    /** CPU demand above the capacity of overloaded hosts (cores), and how many hosts are overloaded. */
    cpuShortfallCores: number[];
    overloadedHosts: number[];
    violations: Violations<number[]>;
  };
  hourly: { hour: number[]; migrations: number[] };
  /** Host-steps of hosts that are on, by CPU utilization bucket: [0,10%), [10,20%), ..., [90,100%), >=100%. */
  utilizationHistogram: { lowerPct: number[]; hostSteps: number[] };
  totals: SimTotals;
  planner: PlannerStats;
  log: Array<{ tHours: number; text: string }>;
}

export interface Violations<T> {
  /** Sum of the must-constraint violations below (all but `should`). */
  must: T;
  /** Hosts whose allocated memory exceeds capacity × memory overcommit (a migrating VM counts at its target). */
  memory: T;
  /** Hosts whose allocated vCPUs exceed capacity × CPU overcommit. */
  cpu: T;
  /** Must anti-affinity: members sharing a host with another member (n-1 per host). */
  antiAffinity: T;
  /** Must affinity: hosts beyond the first a group is spread over. */
  affinity: T;
  /** VMs on a host without the labels of a must host rule. */
  hostRules: T;
  /** 1 when the HA VMs of the F hosts holding most could not restart in the free memory of the others. */
  haAdmission: T;
  /** Should-strength group and host-rule violations (soft). */
  should: T;
  /**
   * Not in `must`: hosts whose memory exceeds capacity when the VMs migrating away, which
   * still hold their memory until the migration ends, are counted too (a plan that fills a
   * host before its outgoing migrations finish).
   */
  memoryInFlight: T;
}

export interface SimTotals {
  energy: { hostHoursOn: number; baselineHostHours: number; savedPct: number };
  activeHosts: { mean: number; min: number; max: number };
  cpuUtil: { p50: number; p90: number };
  migrations: { total: number; perHourMean: number; perHourMax: number; byCause: Record<string, number>; meanSeconds: number; p95Seconds: number; movedGiB: number; cancelled: number };
  violations: Violations<number> & { stepsWithMust: number };
  unplaced: { vmHours: number; coreHours: number; maxVms: number };
  cpuShortfallCoreHours: number;
  ha: { vmsLost: number; restarted: number; restartP50Seconds: number; restartMaxSeconds: number; neverRestarted: number };
  /** A VM reported running on two hosts outside a migration (must stay 0). */
  doubleRuns: number;
}

export interface PlannerStats {
  calls: Record<string, number>;
  actions: Record<string, number>;
  /** Actions the engine refused as illegal when they came, by reason. */
  rejected: Record<string, number>;
  rejectedExamples: Array<{ tHours: number; goal: string; action: string; reason: string }>;
  /** VMs the planner reported it could not place or move, by the constraint that stopped them. */
  unplacedByConstraint: Record<string, number>;
  /** Balance actions recommended but not applied (automation: recommend). */
  recommendations: number;
}
