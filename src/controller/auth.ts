// Who may call what: the admin token, an agent's own credential (the request
// then knows its host), or the join token (checked by the join handler).
import type { FastifyRequest } from 'fastify';
import { ApiError, ErrorCode } from '../api/errors.js';
import type { RouteDef } from '../api/routes.js';
import type { ControllerContext } from './context.js';
import { hashMatches, hostIdOfCredential, secretMatches } from './secrets.js';

const callerHost = new WeakMap<FastifyRequest, string>();

function bearer(req: FastifyRequest): string | undefined {
  const header = req.headers.authorization;
  return header?.startsWith('Bearer ') ? header.slice(7).trim() : undefined;
}

/** WebSockets also take `?token=` (browsers cannot set headers on them). */
function bearerOrQuery(req: FastifyRequest): string | undefined {
  const token = (req.query as { token?: unknown } | undefined)?.token;
  return bearer(req) ?? (typeof token === 'string' ? token : undefined);
}

export function unauthorized(what: string): ApiError {
  return new ApiError(ErrorCode.unauthorized, `missing or wrong ${what}: send "Authorization: Bearer <token>"`);
}

export function checkAdmin(ctx: ControllerContext, req: FastifyRequest, allowQuery = false): void {
  const token = allowQuery ? bearerOrQuery(req) : bearer(req);
  if (!secretMatches(token, ctx.secrets.adminToken)) throw unauthorized('admin token (it is in the controller state dir, file admin-token)');
}

export async function checkAgent(ctx: ControllerContext, req: FastifyRequest): Promise<void> {
  const token = bearer(req);
  const hostId = token ? hostIdOfCredential(token) : undefined;
  const host = hostId ? await ctx.state.getHost(hostId) : undefined;
  if (!host || !hashMatches(token, host.data.credentialHash)) throw unauthorized('host credential (re-join the agent with the join token)');
  callerHost.set(req, host.id);
}

/** An onRequest hook for the route's `auth` kind; the join token is checked in the join handler. */
export function authHook(ctx: ControllerContext, auth: RouteDef['auth']): ((req: FastifyRequest) => Promise<void>) | undefined {
  if (auth === 'admin') return async (req) => checkAdmin(ctx, req);
  if (auth === 'agent') return (req) => checkAgent(ctx, req);
  return undefined;
}

/** The host of an agent request (after checkAgent). */
export function hostIdOf(req: FastifyRequest): string {
  const id = callerHost.get(req);
  if (!id) throw unauthorized('host credential');
  return id;
}
