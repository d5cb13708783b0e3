// VM groups: affinity (run together on one host) and anti-affinity (each on
// a different host), must (placement and moves never break it) or should
// (preferred). Stored as their own kind; members are VMs.
import { Type, type Static } from 'typebox';
import { IsoTime, Name } from './resources.js';

export const GroupKind = Type.Union([Type.Literal('affinity'), Type.Literal('anti-affinity')], { description: 'affinity: on one host; anti-affinity: each on a different host' });
export const GroupStrength = Type.Union([Type.Literal('must'), Type.Literal('should')], { description: 'must: never broken by placement or moves; should: preferred' });
export const GROUP_LIMITS = { maxMembers: 256 } as const;

export const Group = Type.Object({
  name: Name,
  kind: GroupKind,
  strength: GroupStrength,
  /** Member VM names (VMs deleted since are left out). */
  vms: Type.Array(Type.String()),
  /** Member VM ids, in the order of `vms`. */
  vmIds: Type.Array(Type.String()),
  /** Computed when read, never stored: how the members' current hosts break the group (none: it holds). */
  violations: Type.Optional(Type.Array(Type.String())),
  createdAt: IsoTime,
  updatedAt: IsoTime,
});
export type Group = Static<typeof Group>;

export const CreateGroupRequest = Type.Object({
  name: Name,
  kind: GroupKind,
  strength: Type.Optional(GroupStrength),
  /** Member VMs by name or id (default none). */
  vms: Type.Optional(Type.Array(Type.String({ minLength: 1 }), { maxItems: GROUP_LIMITS.maxMembers })),
});
export type CreateGroupRequest = Static<typeof CreateGroupRequest>;

/** POST /v1/groups/:name/members: VMs (names or ids) to add and to remove. */
export const GroupMembersRequest = Type.Object({
  add: Type.Optional(Type.Array(Type.String({ minLength: 1 }), { maxItems: GROUP_LIMITS.maxMembers })),
  remove: Type.Optional(Type.Array(Type.String({ minLength: 1 }), { maxItems: GROUP_LIMITS.maxMembers })),
});
export type GroupMembersRequest = Static<typeof GroupMembersRequest>;
