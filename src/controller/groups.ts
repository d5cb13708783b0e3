// VM groups (/v1/groups): affinity or anti-affinity, must or should, stored
// as their own kind with their members by VM id. Placement, migration
// targets, evacuation and the balancer honour them through the planner
// snapshot (cluster-snapshot.ts). A group whose members break it already
// (say two VMs of a must anti-affinity group share a host) may be created:
// its `violations` say which VMs, and a migration of one of them without
// --to puts it where the group holds. Deleting a VM takes it out of its
// groups (job-kinds/vm-steps.ts).
import { ApiError, ErrorCode } from '../api/errors.js';
import { GROUP_LIMITS, type CreateGroupRequest, type Group, type GroupMembersRequest } from '../api/groups.js';
import { usesResources } from '../core/pool-capacity.js';
import { StoreConflictError } from '../store/store.js';
import type { ControllerContext } from './context.js';
import type { EventDraft } from './events.js';
import { KIND, nowIso, type GroupRecord, type HostRecord, type VmRecord } from './records.js';
import { createOp, deleteOp, putOp, retryOnConflict, type Versioned } from './state.js';

function andList(names: string[]): string {
  return names.length <= 1 ? (names[0] ?? '') : `${names.slice(0, -1).join(', ')} and ${names[names.length - 1]}`;
}

/** Pure: how the members' current hosts break the group (only members that hold a host count). */
export function groupViolations(g: GroupRecord, vms: readonly VmRecord[], hosts: readonly HostRecord[]): string[] {
  const hostName = (id: string) => hosts.find((h) => h.id === id)?.name ?? id;
  const byHost = new Map<string, string[]>();
  for (const id of g.vmIds) {
    const vm = vms.find((v) => v.id === id);
    if (!vm || vm.hostId === null || !usesResources(vm.phase)) continue;
    byHost.set(vm.hostId, [...(byHost.get(vm.hostId) ?? []), vm.name]);
  }
  if (g.kind === 'anti-affinity') {
    return [...byHost].filter(([, names]) => names.length > 1).map(([h, names]) => `${andList(names)} share host ${hostName(h)}`);
  }
  if (byHost.size <= 1) return [];
  return [`not on one host: ${[...byHost].map(([h, names]) => `${andList(names)} on ${hostName(h)}`).join(', ')}`];
}

/** The API view: member names (VMs deleted since left out) and the violations now. */
export function toApiGroup(g: GroupRecord, vms: readonly VmRecord[], hosts: readonly HostRecord[]): Group {
  const members = g.vmIds.flatMap((id) => vms.filter((v) => v.id === id));
  return {
    name: g.name, kind: g.kind, strength: g.strength, vms: members.map((v) => v.name), vmIds: members.map((v) => v.id),
    violations: groupViolations(g, vms, hosts), createdAt: g.createdAt, updatedAt: g.updatedAt,
  };
}

async function records(ctx: ControllerContext): Promise<{ vms: VmRecord[]; hosts: HostRecord[] }> {
  const [vms, hosts] = await Promise.all([ctx.state.listVms(), ctx.state.listHosts()]);
  return { vms: vms.map((v) => v.data), hosts: hosts.map((h) => h.data) };
}

async function view(ctx: ControllerContext, g: GroupRecord): Promise<Group> {
  const r = await records(ctx);
  return toApiGroup(g, r.vms, r.hosts);
}

export async function listGroups(ctx: ControllerContext): Promise<Group[]> {
  const [groups, r] = await Promise.all([ctx.state.listGroups(), records(ctx)]);
  return groups.map((g) => toApiGroup(g.data, r.vms, r.hosts));
}

async function mustFindGroup(ctx: ControllerContext, name: string): Promise<Versioned<GroupRecord>> {
  const g = await ctx.state.store.get<GroupRecord>(KIND.group, name);
  if (!g) throw new ApiError(ErrorCode.notFound, `no group named "${name}"; see \`drover group list\``, 'name');
  return g;
}

export async function getGroup(ctx: ControllerContext, name: string): Promise<Group> {
  return view(ctx, (await mustFindGroup(ctx, name)).data);
}

/** VMs by name or id, each once; a missing one is a 404 naming `field[i]`. */
function resolveVms(refs: readonly string[], vms: readonly VmRecord[], field: string): VmRecord[] {
  const out: VmRecord[] = [];
  refs.forEach((ref, i) => {
    const vm = vms.find((v) => v.name === ref || v.id === ref);
    if (!vm) throw new ApiError(ErrorCode.notFound, `no VM named "${ref}"; see \`drover vm list\``, `${field}[${i}]`);
    if (!out.includes(vm)) out.push(vm);
  });
  return out;
}

function checkSize(n: number, field: string): void {
  if (n > GROUP_LIMITS.maxMembers) throw new ApiError(ErrorCode.invalid, `a group has at most ${GROUP_LIMITS.maxMembers} VMs (this would make ${n})`, field, `at most ${GROUP_LIMITS.maxMembers} VMs`);
}

function groupEvent(kind: string, g: GroupRecord, message: string): EventDraft {
  return { kind, resource: g.name, message, data: { name: g.name, kind: g.kind, strength: g.strength, vmIds: g.vmIds } };
}

export async function createGroup(ctx: ControllerContext, req: CreateGroupRequest): Promise<Group> {
  const { vms, hosts } = await records(ctx);
  const members = resolveVms(req.vms ?? [], vms, 'vms');
  checkSize(members.length, 'vms');
  const at = nowIso();
  const g: GroupRecord = { name: req.name, kind: req.kind, strength: req.strength ?? 'must', vmIds: members.map((v) => v.id), createdAt: at, updatedAt: at };
  if (await ctx.state.store.get(KIND.group, g.name)) throw new ApiError(ErrorCode.conflict, `a group named "${g.name}" already exists; choose another name or change it with \`drover group add\``, 'name');
  const listed = members.map((v) => v.name).join(', ') || 'no VMs yet';
  try {
    await ctx.state.commit([createOp(KIND.group, g.name, g)], [groupEvent('group.created', g, `group ${g.name} (${g.strength} ${g.kind}) created: ${listed}`)]);
  } catch (err) {
    if (err instanceof StoreConflictError) throw new ApiError(ErrorCode.conflict, `a group named "${g.name}" already exists; choose another name`, 'name');
    throw err;
  }
  return toApiGroup(g, vms, hosts);
}

export async function deleteGroup(ctx: ControllerContext, name: string): Promise<Group> {
  const g = await mustFindGroup(ctx, name);
  const shown = await view(ctx, g.data);
  await ctx.state.commit([deleteOp(KIND.group, name)], [groupEvent('group.deleted', g.data, `group ${name} deleted; its VMs stay where they are`)]);
  return shown;
}

/** The member ids after the change; every problem names its field, and nothing changes then. */
function changedMembers(g: GroupRecord, req: GroupMembersRequest, vms: readonly VmRecord[]): string[] {
  const add = resolveVms(req.add ?? [], vms, 'add');
  const removeRefs = req.remove ?? [];
  if (add.length === 0 && removeRefs.length === 0) throw new ApiError(ErrorCode.invalid, 'nothing to change: give VMs to add and/or to remove', 'add');
  const removeIds = removeRefs.map((ref, i) => {
    const vm = vms.find((v) => v.name === ref || v.id === ref);
    const id = vm?.id ?? (g.vmIds.includes(ref) ? ref : undefined);
    if (id === undefined) throw new ApiError(ErrorCode.notFound, `no VM named "${ref}"; see \`drover vm list\``, `remove[${i}]`);
    if (!g.vmIds.includes(id)) throw new ApiError(ErrorCode.invalid, `VM ${ref} is not in group ${g.name} (its VMs: ${g.vmIds.map((x) => vms.find((v) => v.id === x)?.name ?? x).join(', ') || 'none'})`, `remove[${i}]`);
    if (add.some((v) => v.id === id)) throw new ApiError(ErrorCode.invalid, `VM ${ref} is both added and removed; give it in one of them`, `remove[${i}]`);
    return id;
  });
  const next = [...g.vmIds.filter((id) => !removeIds.includes(id)), ...add.map((v) => v.id).filter((id) => !g.vmIds.includes(id))];
  checkSize(next.length, 'add');
  return next;
}

export async function changeGroupMembers(ctx: ControllerContext, name: string, req: GroupMembersRequest): Promise<Group> {
  return retryOnConflict(async () => {
    const g = await mustFindGroup(ctx, name);
    const { vms, hosts } = await records(ctx);
    const vmIds = changedMembers(g.data, req, vms);
    if (vmIds.join() === g.data.vmIds.join()) return toApiGroup(g.data, vms, hosts);
    const next: GroupRecord = { ...g.data, vmIds, updatedAt: nowIso() };
    const names = vmIds.map((id) => vms.find((v) => v.id === id)?.name ?? id).join(', ') || 'none';
    await ctx.state.commit([putOp(KIND.group, name, next, g.rev)], [groupEvent('group.members', next, `group ${name} VMs: ${names}`)]);
    return toApiGroup(next, vms, hosts);
  });
}
