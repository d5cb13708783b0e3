// The HTTP server: every route of src/api/routes.ts with its schemas and
// auth, the OpenAPI document at /openapi.json, WebSockets, and one error shape.
import fastifySwagger from '@fastify/swagger';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import fastifyWebsocket from '@fastify/websocket';
import Fastify, { LogController, type FastifyInstance } from 'fastify';
import { ApiErrorBody, ApiError, ErrorCode } from '../api/errors.js';
import { routes, type RouteDef, type RouteName } from '../api/routes.js';
import { authHook } from './auth.js';
import type { ControllerContext } from './context.js';
import { sendError } from './http-errors.js';
import { routeHandlers } from './route-handlers.js';
import { registerWebSockets } from './ws-routes.js';

export async function buildServer(ctx: ControllerContext): Promise<FastifyInstance> {
  const app = Fastify({
    loggerInstance: ctx.log,
    // Agents report every 2 s: log failures, not every request.
    logController: new LogController({ disableRequestLogging: true }),
    forceCloseConnections: true,
  }).withTypeProvider<TypeBoxTypeProvider>();
  app.setErrorHandler((err, req, reply) => sendError(err, req, reply));
  app.setNotFoundHandler((req, reply) => sendError(new ApiError(ErrorCode.notFound, `no such endpoint: ${req.method} ${req.url.split('?')[0]}`), req, reply));
  await app.register(fastifySwagger, {
    openapi: {
      info: { title: 'Drover API', version: '0.1.0', description: 'QEMU/KVM virtualization: VMs, hosts, images, jobs' },
      components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } } },
    },
  });
  await app.register(fastifyWebsocket, { options: { maxPayload: 1024 * 1024 } });
  app.get('/openapi.json', { schema: { hide: true } }, async () => app.swagger());
  registerRoutes(app as unknown as FastifyInstance, ctx);
  registerWebSockets(app as unknown as FastifyInstance, ctx);
  return app as unknown as FastifyInstance;
}

function registerRoutes(app: FastifyInstance, ctx: ControllerContext): void {
  const handlers = routeHandlers(ctx);
  for (const name of Object.keys(routes) as RouteName[]) {
    const def: RouteDef = routes[name];
    const handler = handlers[name] as (input: unknown) => Promise<unknown>;
    app.route({
      method: def.method,
      url: def.path,
      schema: {
        operationId: name,
        summary: def.summary,
        tags: def.tags,
        ...(def.params ? { params: def.params } : {}),
        ...(def.query ? { querystring: def.query } : {}),
        ...(def.body ? { body: def.body } : {}),
        response: { '2xx': def.response, '4xx': ApiErrorBody, '5xx': ApiErrorBody },
        security: def.auth === 'join' ? [] : [{ bearer: [] }],
      },
      ...(def.auth === 'join' ? {} : { onRequest: authHook(ctx, def.auth) }),
      handler: (request, reply) => handler({ params: request.params, query: request.query, body: request.body, request, reply }),
    });
  }
}
