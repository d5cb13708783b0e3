// The handlers of the automation and snapshot routes (src/api/routes.ts).
import type { ControllerContext } from '../context.js';
import type { Handlers } from '../route-handlers.js';
import { loadSettings, updateSettings } from './settings.js';

export type AutomationRoutes = 'getSnapshot' | 'getAutomation' | 'setAutomation' | 'runAutomation' | 'listRecommendations';

export function automationHandlers(ctx: ControllerContext): Pick<Handlers, AutomationRoutes> {
  return {
    getSnapshot: () => ctx.automation.snapshot(),
    getAutomation: () => loadSettings(ctx.state),
    setAutomation: async ({ body }) => {
      const settings = await updateSettings(ctx.state, body);
      ctx.automation.rearm();
      return settings;
    },
    runAutomation: () => ctx.automation.run('request'),
    listRecommendations: async () => ctx.automation.latestPass(),
  };
}
