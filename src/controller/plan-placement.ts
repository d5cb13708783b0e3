// Where one VM goes, decided by the planner (src/core/planner) on the live
// cluster snapshot (cluster-snapshot.ts): a new VM (vm create), or a running
// one that moves (vm migrate without --to, and the check of a --to host). The
// VM is taken off its host and placed (goal `place`) under every constraint
// the planner knows: host state, host labels and the VM's host rules, its
// groups' affinity and anti-affinity, memory and vCPUs. What only the
// controller knows (the image, the storage pool, the network, port clashes,
// --host) comes in as exclusions: host id -> why not; the planner sees them
// as one more must host rule, so it never picks such a host, and the
// explanation says why in the controller's words.
import { plan, type ClusterSnapshot, type SnapshotVm, type Unplaced } from '../core/planner/index.js';
import { formatHostRule, RESERVED_LABEL_PREFIX } from '../core/labels.js';

/** Hosts a VM may not go to for reasons only the controller knows: host id -> why. */
export type Exclusions = ReadonlyMap<string, string>;

/** Label prefix of the synthetic rules that carry exclusions into the planner (never shown). */
export const ELIGIBLE_LABEL = `${RESERVED_LABEL_PREFIX}eligible-`;

/** Why no host will do: one text, and the constraints behind it ('excluded' for exclusions). */
export interface Why {
  text: string;
  constraints: string[];
}

/**
 * The snapshot with each VM of `excluded` restricted to the hosts not
 * excluded for it: one synthetic label per distinct set of allowed hosts,
 * and a must rule for it on the VM.
 */
export function withExclusions(s: ClusterSnapshot, excluded: ReadonlyMap<string, Exclusions>): ClusterSnapshot {
  const setOf = new Map<string, string>();
  const ruleOf = new Map<string, string>();
  const hostLabels = new Map<string, Record<string, string>>();
  for (const [vmId, ex] of excluded) {
    if (ex.size === 0) continue;
    const allowed = s.hosts.filter((h) => !ex.has(h.id)).map((h) => h.id);
    const key = allowed.join('\n');
    let label = setOf.get(key);
    if (label === undefined) {
      label = `${ELIGIBLE_LABEL}${setOf.size}`;
      setOf.set(key, label);
      for (const id of allowed) hostLabels.set(id, { ...hostLabels.get(id), [label]: 'yes' });
    }
    ruleOf.set(vmId, label);
  }
  if (ruleOf.size === 0) return s;
  return {
    ...s,
    hosts: s.hosts.map((h) => (hostLabels.has(h.id) ? { ...h, labels: { ...h.labels, ...hostLabels.get(h.id) } } : h)),
    vms: s.vms.map((v) => {
      const label = ruleOf.get(v.id);
      return label === undefined ? v : { ...v, hostRules: [...(v.hostRules ?? []), { labels: { [label]: 'yes' }, strength: 'must' as const }] };
    }),
  };
}

function allocationOnly(v: SnapshotVm): SnapshotVm {
  const { cpuUsage: _c, memoryUsageMiB: _m, ...rest } = v;
  return rest;
}

/**
 * The snapshot the planner places `subject` in: the placed VMs of `base`
 * (by allocation: placement spreads what VMs were promised, not what they
 * use now), the subject off any host, in the groups it names, and only
 * hosts not excluded for it. HA admission for `failures` host failures
 * (0: none; a new HA VM is placed with F, ha/admission.ts). Resource pools
 * judge a new VM only (docs/resource-pools.md).
 */
export function placementSnapshot(base: ClusterSnapshot, subject: SnapshotVm, excluded: Exclusions, failures = 0): ClusterSnapshot {
  const mine = new Set(subject.groups ?? []);
  const vms = base.vms.filter((v) => v.host !== null && v.id !== subject.id).map(allocationOnly);
  vms.push({ ...allocationOnly(subject), host: null });
  const groups = (base.groups ?? []).map((g) => ({ ...g, vms: [...g.vms.filter((id) => id !== subject.id), ...(mine.has(g.id) ? [subject.id] : [])] }));
  const s: ClusterSnapshot = { ...base, vms, policy: { ...base.policy, failures, placement: 'spread' } };
  if (groups.length > 0) s.groups = groups;
  else delete s.groups;
  // A VM that holds resources and moves changes no resource pool's use: pools only judge new VMs.
  if (base.vms.some((v) => v.id === subject.id && v.host !== null)) delete s.pools;
  return withExclusions(s, new Map([[subject.id, excluded]]));
}

/** The host the planner places `subject` on (never an excluded one), or why none will do. */
export function placeOne(base: ClusterSnapshot, subject: SnapshotVm, excluded: Exclusions, failures = 0): { hostId: string } | { why: Why } {
  const s = placementSnapshot(base, subject, excluded, failures);
  const p = plan(s, 'place');
  for (const { action: a } of p.actions) if (a.kind === 'place' && a.vm === subject.id) return { hostId: a.host };
  return { why: describeUnplaced(p.unplaced.find((u) => u.vm === subject.id), s, excluded, subject) };
}

/**
 * The planner's reasons as one text, by host name: "h1, h2: already runs a VM
 * of must-anti-affinity group db"; excluded hosts with the controller's
 * reason; synthetic labels never shown.
 */
export function describeUnplaced(u: Unplaced | undefined, s: ClusterSnapshot, excluded: Exclusions, vm: SnapshotVm, sep = '; '): Why {
  if (!u || u.reasons.length === 0) return { text: 'the planner found no host for it', constraints: [] };
  const name = (id: string) => s.hosts.find((h) => h.id === id)?.name ?? id;
  const parts: string[] = [];
  const constraints = new Set<string>();
  for (const r of u.reasons) {
    const extra = (r.hostCount ?? r.hosts.length) - r.hosts.length;
    const out = r.constraint === 'host-label' ? r.hosts.filter((id) => excluded.has(id)) : [];
    const rest = r.hosts.filter((id) => !out.includes(id));
    const byWhy = new Map<string, string[]>();
    for (const id of out) byWhy.set(excluded.get(id)!, [...(byWhy.get(excluded.get(id)!) ?? []), name(id)]);
    for (const [why, hosts] of byWhy) parts.push(`${hosts.join(', ')}: ${why}`);
    if (out.length > 0) constraints.add('excluded');
    if (rest.length > 0 || out.length === 0) {
      constraints.add(r.constraint);
      parts.push(rest.length > 0 ? `${rest.map(name).join(', ')}: ${detailOf(r, vm)}` : detailOf(r, vm));
    }
    if (extra > 0 && parts.length > 0) parts[parts.length - 1] += ` (and ${extra} more host(s) alike)`;
  }
  // Another separator (for text that is itself split on '; '): the parts keep none.
  const text = sep === '; ' ? parts.join(sep) : parts.map((x) => x.replaceAll('; ', ', ')).join(sep);
  return { text, constraints: [...constraints] };
}

/**
 * Why the planner would not put `subject` on host `hostId` (the first
 * must-constraint it breaks there, in the planner's words), or undefined
 * when it may go there. The other hosts are out of the question (their VMs
 * still count for groups).
 */
export function refusalOn(base: ClusterSnapshot, subject: SnapshotVm, hostId: string): string | undefined {
  const only = { ...base, hosts: base.hosts.map((h) => (h.id === hostId || h.state !== 'ready' ? h : { ...h, state: 'maintenance' as const })) };
  const p = plan(placementSnapshot(only, subject, new Map()), 'place');
  if (p.actions.some(({ action: a }) => a.kind === 'place' && a.vm === subject.id)) return undefined;
  const reasons = p.unplaced.find((u) => u.vm === subject.id)?.reasons ?? [];
  const r = reasons.find((x) => x.hosts.includes(hostId)) ?? reasons.find((x) => x.constraint !== 'host-state');
  return r ? detailOf(r, subject) : 'the planner found no room for it there';
}

function detailOf(r: Unplaced['reasons'][number], vm: SnapshotVm): string {
  return r.constraint === 'host-label' ? labelDetail(vm) : r.detail;
}

function labelDetail(vm: SnapshotVm): string {
  const rules = (vm.hostRules ?? []).filter((r) => r.strength === 'must' && !Object.keys(r.labels).some((k) => k.startsWith(ELIGIBLE_LABEL)));
  if (rules.length === 0) return 'host labels do not match the must host rules of the VMs it moves with';
  return `host labels do not match its must host rule(s) ${rules.map((r) => formatHostRule(r)).join(', ')}`;
}
