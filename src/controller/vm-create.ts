// POST /v1/vms: validate everything first (name, host, image, maxima, memory,
// ports), change nothing on a refusal, then commit the VM, its name and its
// job in one atomic commit and start the job.
import { randomBytes } from 'node:crypto';
import { ApiError, ErrorCode } from '../api/errors.js';
import type { CreateVmRequest } from '../api/requests.js';
import type { PortForward, VmSpec } from '../api/resources.js';
import { GiB } from '../core/units.js';
import { defaultMaxima } from '../core/vm-limits.js';
import { StoreConflictError } from '../store/store.js';
import type { ControllerContext } from './context.js';
import { vmCreatedEvent } from './events.js';
import { planPlacement } from './plan-placement.js';
import { findPortClash } from './placement.js';
import { KIND, nowIso, type HostRecord, type ImageRecord, type JobRecord, type VmRecord } from './records.js';
import { createOp, type Versioned } from './state.js';
import { hostsForNetwork, resolveNetwork } from './vm-network.js';

export async function createVm(ctx: ControllerContext, req: CreateVmRequest): Promise<{ vm: VmRecord; job: JobRecord }> {
  const { state } = ctx;
  if (await state.store.get(KIND.vmName, req.name)) throw new ApiError(ErrorCode.conflict, `a VM named "${req.name}" already exists; choose another name`, 'name');
  const vms = (await state.listVms()).map((v) => v.data);
  const ready = (await state.listHosts()).filter((h) => h.data.state === 'Ready').map((h) => h.data);
  if (ready.length === 0) throw new ApiError(ErrorCode.unavailable, 'no Ready host can run the VM; start a host agent (npm run up) and wait until `drover host list` shows it Ready');
  const image = await findImage(await state.listImages(), ready, req.image);
  const network = resolveNetwork(req, vms, ctx.bridgeRange);
  const candidates = hostsForNetwork(placementCandidates(ready, image, req), network);
  if (candidates.length === 0) throw new ApiError(ErrorCode.unavailable, `no Ready host holds image "${image.name}"`, 'image');
  const placed = planPlacement(candidates, vms, { cpus: req.cpus ?? 1, memoryMiB: req.memoryMiB ?? 256 });
  if ('why' in placed) throw new ApiError(ErrorCode.unavailable, `not enough memory or CPU for the VM on any candidate host (${placed.why})`, 'memoryMiB');
  const place = { host: placed.host };
  const sizes = checkSizes(req, place.host);
  const ports = normalizePorts(req.ports ?? []);
  await checkPorts(ctx, place.host, ports, vms);
  return commitNewVm(ctx, req, { ...buildSpec(req, image, sizes, ports), ...(network ? { network } : {}) }, place.host);
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
}

function checkSizes(req: CreateVmRequest, host: HostRecord): Sizes {
  const cpus = req.cpus ?? 1;
  const memoryMiB = req.memoryMiB ?? 256;
  const defaults = defaultMaxima(cpus, memoryMiB, host.inventory?.cpus ?? cpus);
  const maxCpus = req.maxCpus ?? defaults.maxCpus;
  const maxMemoryMiB = req.maxMemoryMiB ?? defaults.maxMemoryMiB;
  if (maxCpus < cpus) throw new ApiError(ErrorCode.invalid, `maxCpus must be >= cpus (${cpus}); got ${maxCpus}`, 'maxCpus', `>= ${cpus}`);
  if (maxMemoryMiB < memoryMiB) throw new ApiError(ErrorCode.invalid, `maxMemoryMiB must be >= memoryMiB (${memoryMiB}); got ${maxMemoryMiB}`, 'maxMemoryMiB', `>= ${memoryMiB}`);
  return { cpus, memoryMiB, maxCpus, maxMemoryMiB };
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

async function commitNewVm(ctx: ControllerContext, req: CreateVmRequest, spec: ReturnType<typeof buildSpec>, host: HostRecord): Promise<{ vm: VmRecord; job: JobRecord }> {
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
  try {
    await ctx.state.commit(
      [createOp(KIND.vmName, req.name, { vmId: id }), createOp(KIND.vm, id, vm), createOp(KIND.job, job.id, job)],
      [vmCreatedEvent(vm)],
    );
  } catch (err) {
    if (err instanceof StoreConflictError) throw new ApiError(ErrorCode.conflict, `a VM named "${req.name}" already exists; choose another name`, 'name');
    throw err;
  }
  ctx.runner.start(job);
  return { vm, job };
}
