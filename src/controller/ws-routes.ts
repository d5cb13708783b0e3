// WebSockets: the event stream, and the serial console proxied to the VM's
// host agent (both directions, binary-safe).
import type { FastifyInstance, FastifyRequest } from 'fastify';
import WebSocket from 'ws';
import { ApiError, ErrorCode } from '../api/errors.js';
import { WS_PATHS } from '../api/routes.js';
import { checkAdmin } from './auth.js';
import type { ControllerContext } from './context.js';
import { mustFindVm } from './vm-ops.js';

/** A subscriber that reads this slowly is dropped rather than buffered without bound. */
const MAX_BUFFERED_BYTES = 8 * 1024 * 1024;

export function registerWebSockets(app: FastifyInstance, ctx: ControllerContext): void {
  const consoleTargets = new WeakMap<FastifyRequest, string>();

  app.get(WS_PATHS.events, { websocket: true, schema: { hide: true }, onRequest: async (req) => checkAdmin(ctx, req, true) }, (socket) => {
    const unsubscribe = ctx.state.events.subscribe((event) => {
      if (socket.readyState !== WebSocket.OPEN) return;
      if (socket.bufferedAmount > MAX_BUFFERED_BYTES) return socket.close(1013, 'event stream reader too slow');
      socket.send(JSON.stringify(event));
    });
    socket.on('close', unsubscribe);
    socket.on('error', unsubscribe);
  });

  // The VM and its agent are looked up before the upgrade, so a bad name answers a plain 404.
  const findConsole = async (req: FastifyRequest) => {
    checkAdmin(ctx, req, true);
    const vm = await mustFindVm(ctx.state, (req.params as { name: string }).name);
    const host = vm.hostId ? await ctx.state.getHost(vm.hostId) : undefined;
    if (!host) throw new ApiError(ErrorCode.unavailable, `VM ${vm.name} has no host`);
    consoleTargets.set(req, ctx.agents.consoleUrl(host.data, vm.id));
  };

  app.get(WS_PATHS.console, { websocket: true, schema: { hide: true }, onRequest: findConsole }, (socket, req) => {
    const target = consoleTargets.get(req);
    if (!target) return socket.close(1011, 'no console target');
    pipeSockets(socket, new WebSocket(target), ctx);
  });
}

function pipeSockets(client: WebSocket, upstream: WebSocket, ctx: ControllerContext): void {
  const pending: Array<[WebSocket.RawData, boolean]> = [];
  client.on('message', (data, isBinary) => {
    if (upstream.readyState === WebSocket.OPEN) upstream.send(data, { binary: isBinary });
    else pending.push([data, isBinary]);
  });
  upstream.on('open', () => {
    for (const [data, isBinary] of pending.splice(0)) upstream.send(data, { binary: isBinary });
  });
  upstream.on('message', (data, isBinary) => {
    if (client.readyState === WebSocket.OPEN) client.send(data, { binary: isBinary });
  });
  upstream.on('close', (code, reason) => closeQuietly(client, code, reason.toString()));
  client.on('close', (code, reason) => closeQuietly(upstream, code, reason.toString()));
  upstream.on('error', (err) => {
    ctx.log.warn({ err }, 'console upstream failed');
    closeQuietly(client, 1011, `console of the host agent failed: ${err.message}`.slice(0, 120));
  });
  client.on('error', () => closeQuietly(upstream, 1000, ''));
}

/** Passes a close on; codes that may not be sent (1005, 1006, ...) become 1000. */
function closeQuietly(ws: WebSocket, code: number, reason: string): void {
  const sendable = code === 1000 || (code >= 1001 && code <= 1003) || (code >= 1007 && code <= 1014) || (code >= 3000 && code <= 4999);
  if (ws.readyState === WebSocket.CONNECTING) return ws.terminate();
  if (ws.readyState === WebSocket.OPEN) ws.close(sendable ? code : 1000, reason.slice(0, 120));
}
