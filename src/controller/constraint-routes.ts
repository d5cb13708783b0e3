// The handlers of the constraint routes (src/api/routes.ts): a host shown
// and labelled, a VM's placement settings changed, VM groups and resource pools.
import type { ControllerContext } from './context.js';
import { changeGroupMembers, createGroup, deleteGroup, getGroup, listGroups } from './groups.js';
import { setHostLabels } from './host-labels.js';
import { mustFindHost, toApiHost } from './host-view.js';
import { withUsage } from './pool.js';
import type { Handlers } from './route-handlers.js';
import { createResourcePool, deleteResourcePool, getResourcePool, listResourcePools, updateResourcePool } from './resource-pools.js';
import { updateVm } from './vm-update.js';
import { toApiVm } from './vm-ops.js';

export type ConstraintRoutes = 'getHost' | 'setHostLabels' | 'updateVm' | 'listGroups' | 'createGroup' | 'getGroup' | 'deleteGroup' | 'changeGroupMembers' | ResourcePoolRoutes;
type ResourcePoolRoutes = 'listResourcePools' | 'createResourcePool' | 'getResourcePool' | 'updateResourcePool' | 'deleteResourcePool';

export function constraintHandlers(ctx: ControllerContext): Pick<Handlers, ConstraintRoutes> {
  const shown = async (host: Parameters<typeof toApiHost>[0]) => (await withUsage(ctx, [toApiHost(host, ctx.live.lastSeen.get(host.id))]))[0]!;
  return {
    getHost: async ({ params }) => shown(await mustFindHost(ctx, params.name)),
    setHostLabels: async ({ params, body }) => shown(await setHostLabels(ctx, await mustFindHost(ctx, params.name), body)),
    updateVm: async ({ params, body }) => toApiVm(await updateVm(ctx, params.name, body), ctx.live),
    listGroups: () => listGroups(ctx),
    createGroup: async ({ body, reply }) => {
      const g = await createGroup(ctx, body);
      reply.code(201);
      return g;
    },
    getGroup: ({ params }) => getGroup(ctx, params.name),
    deleteGroup: ({ params }) => deleteGroup(ctx, params.name),
    changeGroupMembers: ({ params, body }) => changeGroupMembers(ctx, params.name, body),
    listResourcePools: () => listResourcePools(ctx),
    createResourcePool: async ({ body, reply }) => {
      const p = await createResourcePool(ctx, body);
      reply.code(201);
      return p;
    },
    getResourcePool: ({ params }) => getResourcePool(ctx, params.name),
    updateResourcePool: ({ params, body }) => updateResourcePool(ctx, params.name, body),
    deleteResourcePool: ({ params }) => deleteResourcePool(ctx, params.name),
  };
}
