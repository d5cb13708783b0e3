// The pool: the capacity of all hosts that can take VMs, seen as one.
// Computed by src/core/pool-capacity.ts from the hosts and VMs of the moment.
import { Type, type Static } from 'typebox';

const Count = (description: string) => Type.Integer({ minimum: 0, description });

export const PoolAmount = Type.Object({
  total: Count('of the Ready hosts'),
  reserved: Count('held back for the hosts themselves'),
  used: Count('allocated to VMs that use resources on Ready hosts (vCPUs may exceed the total: overcommit)'),
  free: Count('total - reserved - used, never below 0'),
});
export type PoolAmount = Static<typeof PoolAmount>;

/** How many hosts are in each state (the keys are HOST_STATES of resources.ts); every state is present, 0 when none. */
export const HostsByState = Type.Object({
  Joining: Type.Integer({ minimum: 0 }),
  Ready: Type.Integer({ minimum: 0 }),
  Unreachable: Type.Integer({ minimum: 0 }),
  Maintenance: Type.Integer({ minimum: 0 }),
  Standby: Type.Integer({ minimum: 0 }),
  Left: Type.Integer({ minimum: 0 }),
  Fenced: Type.Integer({ minimum: 0 }),
  Recovering: Type.Integer({ minimum: 0 }),
});
export type HostsByState = Static<typeof HostsByState>;

/** HA failover and admission (docs/failover.md). */
export const PoolHa = Type.Object({
  /** Whether the controller fails hosts over (it needs --shared-pool to watch leases). */
  failover: Type.Boolean(),
  /** Why failover is off. */
  reason: Type.Optional(Type.String()),
  /** The timing it judges by (src/core/ha-timing.ts), when on. */
  ioTimeoutMs: Type.Optional(Type.Integer()),
  heartbeatSuspectMs: Type.Optional(Type.Integer()),
  expireAfterMs: Type.Optional(Type.Integer()),
  /** F: the host failures HA admission keeps room for (automation setting haFailures). */
  failures: Type.Integer({ minimum: 0 }),
  /** Whether the HA VMs of any F Ready hosts fit on the others now, and the spare beyond that (negative: short by). */
  admission: Type.Object({ holds: Type.Boolean(), spareMemoryMiB: Type.Number(), spareCpus: Type.Number() }),
});
export type PoolHa = Static<typeof PoolHa>;

export const Pool = Type.Object({
  hosts: Type.Object({
    total: Count('every host the controller knows, Left ones included'),
    schedulable: Count('Ready hosts: the ones that take VMs and whose capacity is the pool'),
    byState: HostsByState,
  }),
  cpus: PoolAmount,
  memoryMiB: PoolAmount,
  vms: Type.Object({
    total: Count('every VM'),
    active: Count('VMs that use resources (Pending, Starting, Running, Paused, Stopping)'),
    activeOutsidePool: Count('active VMs on hosts that are not Ready (Unreachable, Maintenance, ...) or on no host'),
  }),
  ha: Type.Optional(PoolHa),
});
export type Pool = Static<typeof Pool>;
