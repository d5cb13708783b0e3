// POST /v1/vms: validate everything first (name, host rules, groups, host,
// image, maxima, memory, ports), change nothing on a refusal, then commit the
// VM, its name, its job and its groups' new member lists in one atomic
// commit and start the job. Placement is the planner's, on the live snapshot
// (plan-placement.ts): it honours host labels, host rules and the groups the
// VM joins. A group changed by a concurrent request makes the commit lose its
// compare-and-swap: the create is planned again (so two VMs of a must
// anti-affinity group created at once still land on different hosts).
// An HA VM is placed under HA admission (room for F failed hosts, ha/admission.ts)
// and never on a host whose agent cannot fence itself.
import { randomBytes } from 'node:crypto';
import { ApiError, ErrorCode } from '../api/errors.js';
import type { CreateVmRequest } from '../api/requests.js';
import type { PortForward, VmSpec } from '../api/resources.js';
import { GiB } from '../core/units.js';
import { defaultMaxima } from '../core/vm-limits.js';
import { StoreConflictError } from '../store/store.js';
import { buildClusterSnapshot, withConstraints } from './cluster-snapshot.js';
import type { ControllerContext } from './context.js';
import { vmCreatedEvent } from './events.js';
import { haFailures } from './ha/admission.js';
import { haProblem } from './ha/restart.js';
import { placeOne } from './plan-placement.js';
import { findPortClash } from './placement.js';
import { KIND, nowIso, type GroupRecord, type HostRecord, type ImageRecord, type JobRecord, type ResourcePoolRecord, type VmRecord } from './records.js';
import { createOp, putOp, retryOnConflict, type Versioned } from './state.js';
import { constraintSpec, groupsToJoin, placementError } from './vm-constraints.js';
import { checkedLimits } from './vm-limits.js';
import { checkPoolAdmission, listPoolRecords, mustFindPool, sizeText } from './pool-admission.js';
import { hostsForNetwork, networkProblem, resolveNetwork } from './vm-network.js';

const NEW_VM_ID = '(new VM)';

export function createVm(ctx: ControllerContext, req: CreateVmRequest): Promise<{ vm: VmRecord; job: JobRecord }> {
  return retryOnConflict(() => createOnce(ctx, req));
}

async function createOnce(ctx: ControllerContext, req: CreateVmRequest): Promise<{ vm: VmRecord; job: JobRecord }> {
  const { state } = ctx;
  if (await state.store.get(KIND.vmName, req.name)) throw new ApiError(ErrorCode.conflict, `a VM named "${req.name}" already exists; choose another name`, 'name');
  const constraints = constraintSpec(req);
  const limits = req.limits ? checkedLimits(req.limits, { cpus: req.cpus ?? 1, memoryMiB: req.memoryMiB ?? 256 }) : undefined;
  const pool = req.resourcePool !== undefined ? await mustFindPool(ctx, req.resourcePool, 'resourcePool') : undefined;
  const size = { cpus: req.cpus ?? 1, memoryMiB: req.memoryMiB ?? 256 };
  if (req.start !== false) await checkPoolAdmission(ctx, { ...size, resourcePool: req.resourcePool }, `creating VM ${req.name} (${sizeText(size.cpus, size.memoryMiB)})`);
  const [vms, hosts, groups] = await Promise.all([state.listVms().then((l) => l.map((v) => v.data)), state.listHosts().then((l) => l.map((h) => h.data)), state.listGroups()]);
  const joins = groupsToJoin(groups, req.groups);
  const ready = hosts.filter((h) => h.state === 'Ready');
  if (ready.length === 0) throw new ApiError(ErrorCode.unavailable, 'no Ready host can run the VM; start a host agent (npm run up) and wait until `drover host list` shows it Ready');
  const image = await findImage(await state.listImages(), ready, req.image);
  const network = resolveNetwork(req, vms, ctx.bridgeRange);
  const candidates = hostsForNetwork(placementCandidates(ready, image, req), network);
  if (candidates.length === 0) throw new ApiError(ErrorCode.unavailable, `no Ready host holds image "${image.name}"`, 'image');
  const failures = constraints.ha ? await haFailures(ctx) : 0;
  const ha = (h: HostRecord) => (constraints.ha ? haProblem(ctx.live.haReports.get(h.id)) : undefined);
  const fit = candidates.filter((h) => !ha(h));
  if (fit.length === 0) throw new ApiError(ErrorCode.unavailable, `no Ready host that can run the VM can fence itself, so none may run an HA VM (${candidates.map((h) => `${h.name}: ${ha(h)}`).join('; ')})`, 'ha');
  const pools = (await listPoolRecords(ctx)).map((p) => p.data);
  const host = placeNewVm({ hosts, vms, groups: groups.map((g) => g.data), pools }, fit, req, constraints, failures, (h) => ha(h) ?? exclusionOf(h, image, req, network));
  const sizes = checkSizes(req, host);
  const ports = normalizePorts(req.ports ?? []);
  await checkPorts(ctx, host, ports, vms);
  const spec = { ...buildSpec(req, image, sizes, ports), ...(network ? { network } : {}), ...constraints, ...(limits && Object.keys(limits).length ? { limits } : {}), ...(pool ? { resourcePool: pool.id } : {}) };
  return commitNewVm(ctx, req, spec, host, joins, pool);
}

/** The planner's host for the new VM among the candidates, under its host rules and groups. */
function placeNewVm(records: { hosts: HostRecord[]; vms: VmRecord[]; groups: GroupRecord[]; pools: ResourcePoolRecord[] }, candidates: HostRecord[], req: CreateVmRequest, constraints: Pick<VmSpec, 'ha' | 'haPriority' | 'hostRules'>, failures: number, why: (h: HostRecord) => string): HostRecord {
  const base = buildClusterSnapshot({ ...records, migrations: [], volumes: [], usage: () => ({}), nowMs: Date.now() });
  const ids = new Set(candidates.map((h) => h.id));
  const excluded = new Map(records.hosts.filter((h) => h.state === 'Ready' && !ids.has(h.id)).map((h) => [h.id, why(h)]));
  const subject = withConstraints({ id: NEW_VM_ID, name: req.name, cpus: req.cpus ?? 1, memoryMiB: req.memoryMiB ?? 256, host: null }, constraints);
  if (req.groups?.length) subject.groups = [...new Set(req.groups)];
  if (req.resourcePool !== undefined && req.start !== false) subject.pool = req.resourcePool;
  const placed = placeOne(base, subject, excluded, failures);
  if ('why' in placed) throw placementError(placed.why, 'the VM', failures);
  return candidates.find((h) => h.id === placed.hostId)!;
}

/** Why a Ready host is not a candidate for the new VM. */
function exclusionOf(h: HostRecord, image: ImageRecord, req: CreateVmRequest, network: VmSpec['network']): string {
  if (req.host && h.name !== req.host && h.id !== req.host) return 'not the host asked for (host)';
  if (!image.hosts.includes(h.id)) return `it does not hold image ${image.name}`;
  if (req.storage === 'shared' && !h.inventory?.sharedPool) return 'it has no shared storage pool (agent flag --shared-pool)';
  return networkProblem(h, network) ?? 'it cannot run the VM';
}

/** Ready hosts that hold the image, have the VM's storage pool, and match req.host when given. */
function placementCandidates(ready: HostRecord[], image: ImageRecord, req: CreateVmRequest): HostRecord[] {
  let hosts = ready.filter((h) => image.hosts.includes(h.id));
  if (req.host) {
    const wanted = ready.find((h) => h.name === req.host || h.id === req.host);
    if (!wanted) throw new ApiError(ErrorCode.notFound, `no Ready host named "${req.host}"; see \`drover host list\``, 'host');
    if (!hosts.includes(wanted)) throw new ApiError(ErrorCode.unavailable, `host ${wanted.name} does not hold image "${image.name}"`, 'host');
    hosts = [wanted];
  }
  if (req.storage === 'shared') {
    hosts = hosts.filter((h) => h.inventory?.sharedPool);
    if (hosts.length === 0) throw new ApiError(ErrorCode.unavailable, 'no Ready host has a shared storage pool; start agents with --shared-pool DIR, or use storage local', 'storage', 'local');
  }
  return hosts;
}

async function findImage(images: Versioned<ImageRecord>[], ready: HostRecord[], name: string): Promise<ImageRecord> {
  const readyIds = new Set(ready.map((h) => h.id));
  const available = images.filter((i) => i.data.hosts.some((h) => readyIds.has(h))).map((i) => i.data);
  const image = available.find((i) => i.name === name);
  if (image) return image;
  const names = available.map((i) => i.name).join(', ');
  const hint = names ? `available: ${names}` : 'no image exists yet; build one with `drover image build tiny`';
  throw new ApiError(ErrorCode.notFound, `image "${name}" not found on any Ready host; ${hint}`, 'image', names || undefined);
}

interface Sizes {
  cpus: number;
  memoryMiB: number;
  maxCpus: number;
  maxMemoryMiB: number;
  /** Fixed for the VM's life: what it boots with; memory above it is hot-pluggable and can be taken back. */
  bootMemoryMiB: number;
}

function checkSizes(req: CreateVmRequest, host: HostRecord): Sizes {
  const cpus = req.cpus ?? 1;
  const memoryMiB = req.memoryMiB ?? 256;
  const defaults = defaultMaxima(cpus, memoryMiB, host.inventory?.cpus ?? cpus);
  const maxCpus = req.maxCpus ?? defaults.maxCpus;
  const maxMemoryMiB = req.maxMemoryMiB ?? defaults.maxMemoryMiB;
  if (maxCpus < cpus) throw new ApiError(ErrorCode.invalid, `maxCpus must be >= cpus (${cpus}); got ${maxCpus}`, 'maxCpus', `>= ${cpus}`);
  if (maxMemoryMiB < memoryMiB) throw new ApiError(ErrorCode.invalid, `maxMemoryMiB must be >= memoryMiB (${memoryMiB}); got ${maxMemoryMiB}`, 'maxMemoryMiB', `>= ${memoryMiB}`);
  return { cpus, memoryMiB, maxCpus, maxMemoryMiB, bootMemoryMiB: memoryMiB };
}

function normalizePorts(ports: NonNullable<CreateVmRequest['ports']>): PortForward[] {
  return ports.map((p) => ({ proto: p.proto ?? 'tcp', ...(p.hostAddress ? { hostAddress: p.hostAddress } : {}), hostPort: p.hostPort, guestPort: p.guestPort }));
}

/** Refuses ports other VMs of the host forward, then asks the agent which are busy on the host. */
async function checkPorts(ctx: ControllerContext, host: HostRecord, ports: PortForward[], vms: VmRecord[]): Promise<void> {
  if (ports.length === 0) return;
  const clash = findPortClash(ports, host.id, vms, ctx.live.usedPorts.get(host.id) ?? []);
  if (clash) throw new ApiError(ErrorCode.conflict, clash.message, `ports[${clash.index}].hostPort`);
  const busy = new Set(await ctx.agents.busyPorts(host, ports.map(({ hostAddress, hostPort, proto }) => ({ hostAddress: hostAddress ?? host.inventory?.forwardAddress ?? '127.0.0.1', hostPort, proto }))));
  const index = ports.findIndex((p) => busy.has(p.hostPort));
  const port = ports[index];
  if (port) throw new ApiError(ErrorCode.conflict, `host port ${port.hostPort} is already in use on host ${host.name}; choose another hostPort`, `ports[${index}].hostPort`);
}

function buildSpec(req: CreateVmRequest, image: ImageRecord, sizes: Sizes, ports: PortForward[]): Omit<VmSpec, 'volumes'> & { bootBytes: number } {
  return { image: image.name, ...sizes, ports, mac: randomMac(), ...(req.storage ? { storage: req.storage } : {}), bootBytes: image.diskVirtualSizeBytes ?? GiB };
}

/** A random MAC with QEMU's locally administered prefix 52:54:00. */
export function randomMac(): string {
  return ['52', '54', '00', ...[...randomBytes(3)].map((b) => b.toString(16).padStart(2, '0'))].join(':');
}

async function commitNewVm(ctx: ControllerContext, req: CreateVmRequest, spec: ReturnType<typeof buildSpec> & Partial<VmSpec>, host: HostRecord, joins: Versioned<GroupRecord>[], pool?: Versioned<ResourcePoolRecord>): Promise<{ vm: VmRecord; job: JobRecord }> {
  const id = randomBytes(8).toString('hex');
  const { bootBytes, ...rest } = spec;
  const volumes: VmSpec['volumes'] = [{ id: `${id}-boot`, role: 'boot', sizeBytes: bootBytes, backingImage: spec.image }];
  if (req.diskBytes) volumes.push({ id: `${id}-data1`, role: 'data', sizeBytes: req.diskBytes });
  const at = nowIso();
  const vm: VmRecord = {
    id, name: req.name, spec: { ...rest, volumes }, phase: 'Pending', intent: 'stopped', hostId: host.id,
    epoch: 0, rebootSeq: 0, forceStop: false, createdAt: at, updatedAt: at,
  };
  const job = ctx.runner.newJob('vm.create', req.name, { vmId: id, start: req.start !== false });
  const groupOps = joins.map((g) => putOp(KIND.group, g.id, { ...g.data, vmIds: [...g.data.vmIds, id], updatedAt: at }, g.rev));
  // The pool's record is written back unchanged: a concurrent delete of the pool loses its compare-and-swap (or this one does).
  if (pool) groupOps.push(putOp(KIND.resourcePool, pool.id, pool.data, pool.rev));
  try {
    await ctx.state.commit(
      [createOp(KIND.vmName, req.name, { vmId: id }), createOp(KIND.vm, id, vm), createOp(KIND.job, job.id, job), ...groupOps],
      [vmCreatedEvent(vm)],
    );
  } catch (err) {
    // A group that changed meanwhile: the caller plans again (retryOnConflict).
    if (err instanceof StoreConflictError && err.kind === KIND.vmName) throw new ApiError(ErrorCode.conflict, `a VM named "${req.name}" already exists; choose another name`, 'name');
    throw err;
  }
  ctx.runner.start(job);
  return { vm, job };
}
