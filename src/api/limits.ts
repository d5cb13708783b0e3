// Per-VM resource controls on the wire: the limits in a VM's spec, the
// request that changes them (PUT /v1/vms/:name/limits), and what the host
// agent reports as applied. Ranges come from src/core/resource-controls.ts;
// the checks against the VM's size are the controller's (vm-limits.ts).
import { Type, type Static } from 'typebox';
import { LIMIT_FIELDS, LIMIT_RANGES, QEMU_MEMORY_HEADROOM_MIB, type LimitField } from '../core/resource-controls.js';

const DESCRIPTIONS: Record<LimitField, string> = {
  cpuWeight: 'relative CPU share against other VMs when they compete, 1-10000 (absent: 100)',
  cpuLimitCores: "hard CPU cap in cores (0.5 = half a core), at most the VM's vCPUs (absent: no cap)",
  memoryLimitMiB: `hard cap on the memory charged to QEMU: guest RAM plus QEMU's own; at least memoryMiB + ${QEMU_MEMORY_HEADROOM_MIB} (absent: no cap)`,
  diskReadIops: 'read operations per second, per disk (absent: no cap)',
  diskWriteIops: 'write operations per second, per disk (absent: no cap)',
  diskReadBytesPerSec: 'bytes read per second, per disk (absent: no cap)',
  diskWriteBytesPerSec: 'bytes written per second, per disk (absent: no cap)',
};

/** An integer or number schema with the field's range (Type.Unsafe: either reads as a number). */
function limitValue(field: LimitField) {
  const r = LIMIT_RANGES[field];
  const opts = { minimum: r.min, maximum: r.max, description: DESCRIPTIONS[field] };
  return Type.Unsafe<number>(r.integer ? Type.Integer(opts) : Type.Number(opts));
}

// No additionalProperties: false: the server would drop unknown keys silently. The controller refuses them by name.
export const VmLimitsSchema = Type.Object({
  cpuWeight: Type.Optional(limitValue('cpuWeight')),
  cpuLimitCores: Type.Optional(limitValue('cpuLimitCores')),
  memoryLimitMiB: Type.Optional(limitValue('memoryLimitMiB')),
  diskReadIops: Type.Optional(limitValue('diskReadIops')),
  diskWriteIops: Type.Optional(limitValue('diskWriteIops')),
  diskReadBytesPerSec: Type.Optional(limitValue('diskReadBytesPerSec')),
  diskWriteBytesPerSec: Type.Optional(limitValue('diskWriteBytesPerSec')),
}, { description: 'per-VM resource controls, applied live by its host (docs/operations.md, "Resource controls")' });
export type VmLimitsSchema = Static<typeof VmLimitsSchema>;

const LimitName = Type.Unsafe<LimitField>(Type.Union(LIMIT_FIELDS.map((f) => Type.Literal(f))));

/** PUT /v1/vms/:name/limits: `set` limits take these values, `remove` ones go, the others keep theirs; `clear` first removes them all. */
export const SetVmLimitsRequest = Type.Object({
  set: Type.Optional(VmLimitsSchema),
  remove: Type.Optional(Type.Array(LimitName, { description: 'limits to remove (back to no cap; cpuWeight back to 100)' })),
  clear: Type.Optional(Type.Boolean({ description: 'remove every limit this request does not set' })),
});
export type SetVmLimitsRequest = Static<typeof SetVmLimitsRequest>;

/** What the VM's host has in force, read back from its cgroup and from QEMU. */
export const AppliedLimits = Type.Object({
  /** Absent caps: none (no null here: the server's coercion would turn it into 0). */
  cgroup: Type.Optional(Type.Object({
    version: Type.Union([Type.Literal(1), Type.Literal(2)]),
    cpuWeight: Type.Integer(),
    cpuLimitCores: Type.Optional(Type.Number({ description: 'absent: no cap' })),
    memoryLimitMiB: Type.Optional(Type.Number({ description: 'absent: no cap' })),
    /** The resource pool group its cgroup is in (pool-NAME, with the pool's CPU weight); absent: none. */
    pool: Type.Optional(Type.String()),
  })),
  /** Each disk's throttle as QEMU shows it (query-block); 0 is no cap. */
  disks: Type.Optional(Type.Array(Type.Object({
    id: Type.String({ description: "the disk's device id in QEMU" }),
    readIops: Type.Integer(),
    writeIops: Type.Integer(),
    readBytesPerSec: Type.Integer(),
    writeBytesPerSec: Type.Integer(),
  }))),
  /** Why limits of the spec are not (all) in force, e.g. a host without usable cgroups. */
  problems: Type.Optional(Type.Array(Type.String())),
});
export type AppliedLimits = Static<typeof AppliedLimits>;
