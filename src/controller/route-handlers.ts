// One handler per entry of the route table in src/api/routes.ts, typed from it.
import { standbyHost } from './host-standby.js';
import { automationHandlers, type AutomationRoutes } from './automation/routes.js';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { ApiError, ErrorCode } from '../api/errors.js';
import type { ImportImageRequest } from '../api/requests.js';
import type { RouteBody, RouteName, RouteParams, RouteQuery, RouteResponse } from '../api/routes.js';
import type { VmRequest } from '../core/phase.js';
import { joinHost } from './agent-join.js';
import { hostIdOf } from './auth.js';
import type { ControllerContext } from './context.js';
import { setHostState } from './job-kinds/host-maintenance.js';
import { removeHost } from './host-remove.js';
import { getPool, withUsage } from './pool.js';
import { cancelMigration, startMigration, toApiMigration } from './migration-start.js';
import { constraintHandlers, type ConstraintRoutes } from './constraint-routes.js';
import { powerHandlers, type PowerRoutes } from './power-routes.js';
import { mustFindHost, toApiHost } from './host-view.js';
import { KIND, type JobParams, type MigrationRecord } from './records.js';
import { createOp } from './state.js';
import { createVm } from './vm-create.js';
import { requestResize } from './vm-resize.js';
import { deviceHandlers, type DeviceRoutes } from './device-routes.js';
import { limitHandlers } from './vm-limits.js';
import { mustFindVm, requestVmOp, toApiJob, toApiVm } from './vm-ops.js';

export interface HandlerInput<N extends RouteName> {
  params: RouteParams<N>;
  query: RouteQuery<N>;
  body: RouteBody<N>;
  request: FastifyRequest;
  reply: FastifyReply;
}
export type Handlers = { [N in RouteName]: (input: HandlerInput<N>) => Promise<RouteResponse<N>> };

const RECENT_JOBS = 100;

type VmRoutes = 'listVms' | 'createVm' | 'getVm' | 'deleteVm' | 'startVm' | 'stopVm' | 'rebootVm' | 'resizeVm' | 'pauseVm' | 'resumeVm' | 'vmLogs' | MigrationRoutes;
type MigrationRoutes = 'migrateVm' | 'cancelMigration' | 'listMigrations' | 'getMigration';

export function routeHandlers(ctx: ControllerContext): Handlers {
  return { ...vmHandlers(ctx), ...migrationHandlers(ctx), ...automationHandlers(ctx), ...constraintHandlers(ctx), ...powerHandlers(ctx), ...deviceHandlers(ctx), ...limitHandlers(ctx), ...clusterHandlers(ctx) };
}

function accepted<T>(reply: FastifyReply, value: T): T {
  reply.code(202);
  return value;
}

function migrationHandlers(ctx: ControllerContext): Pick<Handlers, MigrationRoutes> {
  const { state, live } = ctx;
  return {
    migrateVm: async ({ params, body, reply }) => {
      const r = await startMigration(ctx, params.name, body);
      return accepted(reply, { vm: toApiVm(r.vm, live), job: toApiJob(r.job), migration: toApiMigration(r.migration, live) });
    },
    cancelMigration: async ({ params, reply }) => accepted(reply, toApiMigration(await cancelMigration(ctx, params.name), live)),
    listMigrations: async () => (await state.store.list<MigrationRecord>(KIND.migration)).map((m) => toApiMigration(m.data, live)),
    getMigration: async ({ params }) => {
      const m = await state.store.get<MigrationRecord>(KIND.migration, params.id);
      if (!m) throw new ApiError(ErrorCode.notFound, `no migration ${params.id}; see \`drover migration list\``, 'id');
      return toApiMigration(m.data, live);
    },
  };
}

function vmHandlers(ctx: ControllerContext): Pick<Handlers, Exclude<VmRoutes, MigrationRoutes>> {
  const { state, live } = ctx;
  const op = (name: string, request: VmRequest, reply: FastifyReply, params: JobParams = {}) =>
    requestVmOp(ctx, name, request, params).then((r) => accepted(reply, { vm: r.vm, job: toApiJob(r.job) }));
  return {
    listVms: async () => byName((await state.listVms()).map((v) => toApiVm(v.data, live))),
    createVm: async ({ body, reply }) => {
      const { vm, job } = await createVm(ctx, body);
      return accepted(reply, { vm: toApiVm(vm, live), job: toApiJob(job) });
    },
    getVm: async ({ params }) => toApiVm(await mustFindVm(state, params.name), live),
    deleteVm: ({ params, reply }) => op(params.name, 'delete', reply),
    startVm: ({ params, reply }) => op(params.name, 'start', reply),
    stopVm: ({ params, body, reply }) => op(params.name, body.force ? 'force-stop' : 'stop', reply, { force: body.force === true }),
    rebootVm: ({ params, reply }) => op(params.name, 'reboot', reply),
    resizeVm: async ({ params, body, reply }) => {
      const r = await requestResize(ctx, params.name, body);
      return accepted(reply, { vm: r.vm, job: toApiJob(r.job) });
    },
    pauseVm: ({ params, reply }) => op(params.name, 'pause', reply),
    resumeVm: ({ params, reply }) => op(params.name, 'resume', reply),
    vmLogs: async ({ params, query }) => {
      const vm = await mustFindVm(state, params.name);
      const host = vm.hostId ? await state.getHost(vm.hostId) : undefined;
      if (!host) throw new ApiError(ErrorCode.unavailable, `VM ${vm.name} has no host to read its serial log from`);
      return { text: await ctx.agents.serialLog(host.data, vm.id, query?.bytes ?? 65536) };
    },
  };
}

function clusterHandlers(ctx: ControllerContext): Omit<Handlers, VmRoutes | AutomationRoutes | ConstraintRoutes | PowerRoutes | DeviceRoutes | 'setVmLimits'> {
  const { state, live } = ctx;
  return {
    getJoinToken: async () => ({ token: ctx.secrets.joinToken }),
    listHosts: async () => byName(await withUsage(ctx, (await state.listHosts()).map((h) => toApiHost(h.data, live.lastSeen.get(h.id))))),
    hostMaintenance: async ({ params, reply }) => {
      const host = await mustFindHost(ctx, params.name);
      if (host.state !== 'Ready' && host.state !== 'Maintenance') throw new ApiError(ErrorCode.conflict, `host ${host.name} is ${host.state}; only a Ready host can enter maintenance`);
      const job = ctx.runner.newJob('host.maintenance', host.name, { hostIds: [host.id] });
      await ctx.state.commit([createOp(KIND.job, job.id, job)]);
      ctx.runner.start(job);
      return accepted(reply, toApiJob(job));
    },
    hostActivate: async ({ params }) => {
      const host = await mustFindHost(ctx, params.name);
      if (!['Maintenance', 'Ready', 'Standby'].includes(host.state)) throw new ApiError(ErrorCode.conflict, `host ${host.name} is ${host.state}; only a host in Maintenance or Standby can be activated`);
      return toApiHost(await setHostState(ctx.state, host.id, 'Ready'), live.lastSeen.get(host.id));
    },
    hostStandby: async ({ params }) => {
      const host = await standbyHost(ctx, await mustFindHost(ctx, params.name));
      return toApiHost(host, live.lastSeen.get(host.id));
    },
    removeHost: async ({ params }) => {
      const host = await removeHost(ctx, params.name);
      return (await withUsage(ctx, [toApiHost(host, live.lastSeen.get(host.id))]))[0]!;
    },
    getPool: () => getPool(ctx),
    listImages: async () => (await state.listImages()).map((i) => i.data),
    buildImage: async ({ body, reply }) => accepted(reply, await imageJob(ctx, 'image.build', body.name, { build: body })),
    importImage: async ({ body, reply }) => {
      await checkImport(ctx, body);
      return accepted(reply, await imageJob(ctx, 'image.import', body.name, { import: body }));
    },
    listVolumes: async () => (await state.listVolumes()).map((v) => v.data),
    listJobs: async () => (await state.listJobs()).slice(-RECENT_JOBS).map((j) => toApiJob(j.data)),
    getJob: async ({ params }) => {
      const job = await state.getJob(params.id);
      if (!job) throw new ApiError(ErrorCode.notFound, `no job ${params.id}`, 'id');
      return toApiJob(job.data);
    },
    agentJoin: async ({ body }) => joinHost(ctx, body),
    agentAssignments: async ({ query, request }) => ctx.assignments.poll(hostIdOf(request), query?.since, query?.waitMs ?? 0, ctx.stopping),
    agentReport: async ({ body, request }) => {
      const balloonAck = await ctx.reports.accept(hostIdOf(request), body);
      return { ok: true, ...(balloonAck ? { balloonAck } : {}) };
    },
  };
}

async function imageJob(ctx: ControllerContext, kind: string, name: string, params: JobParams): Promise<ReturnType<typeof toApiJob>> {
  const hosts = (await ctx.state.listHosts()).filter((h) => h.data.state === 'Ready');
  if (hosts.length === 0) throw new ApiError(ErrorCode.unavailable, 'no Ready host to make the image on; start a host agent first');
  const job = ctx.runner.newJob(kind, name, { ...params, hostIds: hosts.map((h) => h.id) });
  await ctx.state.commit([createOp(KIND.job, job.id, job)]);
  ctx.runner.start(job);
  return toApiJob(job);
}

async function checkImport(ctx: ControllerContext, req: ImportImageRequest): Promise<void> {
  if (req.file && (req.kernel || req.initrd)) throw new ApiError(ErrorCode.invalid, 'give either file, or kernel and initrd, not both', 'file');
  if (!req.file && !req.kernel) throw new ApiError(ErrorCode.invalid, 'file is required: a qcow2 or raw disk file (or give kernel and initrd)', 'file');
  if (req.kernel && !req.initrd) throw new ApiError(ErrorCode.invalid, 'initrd is required with kernel', 'initrd');
  if (req.initrd && !req.kernel) throw new ApiError(ErrorCode.invalid, 'kernel is required with initrd', 'kernel');
  if (await ctx.state.store.get(KIND.image, req.name)) throw new ApiError(ErrorCode.conflict, `an image named "${req.name}" already exists`, 'name');
}

/** Lists come sorted by name, so people and scripts see a stable order (store keys are ids). */
function byName<T extends { name: string }>(items: T[]): T[] {
  return items.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}
