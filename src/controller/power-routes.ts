// The handlers of a host's power routes (src/api/routes.ts): its BMC
// settings and the manual power actions.
import type { ControllerContext } from './context.js';
import { hostPowerOff, hostPowerOn, hostPowerStatus } from './host-power-actions.js';
import { deleteHostPower, mustGetPowerRecord, setHostPower, toApiPower } from './host-power.js';
import { mustFindHost } from './host-view.js';
import type { Handlers } from './route-handlers.js';

export type PowerRoutes = 'getHostPower' | 'setHostPower' | 'deleteHostPower' | 'hostPowerStatus' | 'hostPowerOff' | 'hostPowerOn';

export function powerHandlers(ctx: ControllerContext): Pick<Handlers, PowerRoutes> {
  return {
    getHostPower: async ({ params }) => {
      const host = await mustFindHost(ctx, params.name);
      return toApiPower(ctx, host, await mustGetPowerRecord(ctx, host));
    },
    setHostPower: async ({ params, body }) => {
      const host = await mustFindHost(ctx, params.name);
      return toApiPower(ctx, host, await setHostPower(ctx, host, body));
    },
    deleteHostPower: async ({ params }) => {
      const host = await mustFindHost(ctx, params.name);
      return toApiPower(ctx, host, await deleteHostPower(ctx, host));
    },
    hostPowerStatus: async ({ params }) => hostPowerStatus(ctx, await mustFindHost(ctx, params.name)),
    hostPowerOff: async ({ params, body }) => hostPowerOff(ctx, await mustFindHost(ctx, params.name), body.force === true),
    hostPowerOn: async ({ params }) => hostPowerOn(ctx, await mustFindHost(ctx, params.name)),
  };
}
