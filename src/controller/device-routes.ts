// Handlers of the disk and NIC routes (POST/DELETE /v1/vms/:name/disks, /nics).
import type { FastifyReply } from 'fastify';
import type { Handlers } from './route-handlers.js';
import type { ControllerContext } from './context.js';
import type { JobRecord } from './records.js';
import { requestAddDisk, requestAddNic, requestRemoveDisk, requestRemoveNic } from './vm-devices.js';
import { toApiJob } from './vm-ops.js';
import type { Vm } from '../api/resources.js';

export type DeviceRoutes = 'addVmDisk' | 'removeVmDisk' | 'addVmNic' | 'removeVmNic';

function accepted(reply: FastifyReply, r: { vm: Vm; job: JobRecord }): { vm: Vm; job: ReturnType<typeof toApiJob> } {
  reply.code(202);
  return { vm: r.vm, job: toApiJob(r.job) };
}

export function deviceHandlers(ctx: ControllerContext): Pick<Handlers, DeviceRoutes> {
  return {
    addVmDisk: async ({ params, body, reply }) => accepted(reply, await requestAddDisk(ctx, params.name, body)),
    removeVmDisk: async ({ params, query, reply }) => accepted(reply, await requestRemoveDisk(ctx, params.name, params.id, query?.delete === true)),
    addVmNic: async ({ params, body, reply }) => accepted(reply, await requestAddNic(ctx, params.name, body)),
    removeVmNic: async ({ params, reply }) => accepted(reply, await requestRemoveNic(ctx, params.name, params.id)),
  };
}
