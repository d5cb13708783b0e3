// The agent's own small API, called by the controller with the host's
// credential: serial log, console (WebSocket), image build/import (NDJSON
// progress), port checks, health. Paths come from AGENT_PATHS.
import { timingSafeEqual } from 'node:crypto';
import { PassThrough } from 'node:stream';
import fastifyWebsocket from '@fastify/websocket';
import Fastify, { LogController, type FastifyError, type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import type { Logger } from 'pino';
import { Type } from 'typebox';
import type { WebSocket } from 'ws';
import { AGENT_PATHS, CheckPortsRequest, type CheckPortsResponse, type ImageProgressLine } from '../api/agent-protocol.js';
import { BuildImageRequest, ImportImageRequest, LogsQuery } from '../api/requests.js';
import { agentVersion, portsInUse } from '../host/inventory.js';
import type { Agent } from './agent.js';
import { buildImageStreaming, importImageStreaming } from './images.js';

export interface AgentApiDeps {
  agent: Agent;
  imagesDir: string;
  log: Logger;
  /** The host credential; undefined until the agent has joined (then every call is refused). */
  credential(): string | undefined;
  hostId(): string | undefined;
}

/** Bytes of serial history a console gets when it connects. */
const CONSOLE_HISTORY_BYTES = 64 * 1024;
const IdParams = Type.Object({ id: Type.String() });

export async function buildAgentServer(deps: AgentApiDeps): Promise<FastifyInstance> {
  const app = Fastify({
    loggerInstance: deps.log,
    logController: new LogController({ disableRequestLogging: true }),
    forceCloseConnections: true,
  });
  app.setErrorHandler((err: FastifyError, _req, reply) => sendError(reply, err));
  app.setNotFoundHandler((req, reply) => sendError(reply, httpError(404, 'not_found', `no such endpoint: ${req.method} ${req.url.split('?')[0]}`)));
  await app.register(fastifyWebsocket, { options: { maxPayload: 1024 * 1024 } });
  app.addHook('onRequest', async (req) => checkAuth(req, deps.credential()));

  app.get(AGENT_PATHS.health, async () => ({ ok: true, hostId: deps.hostId(), agentVersion: agentVersion() }));

  app.get(AGENT_PATHS.serialLog, { schema: { params: IdParams, querystring: LogsQuery } }, async (req) => {
    const { id } = req.params as { id: string };
    const bytes = (req.query as { bytes?: number }).bytes ?? 65536;
    return { text: mustFindVm(deps.agent, id).serial.log.tail(bytes).toString('utf8') };
  });

  app.get(AGENT_PATHS.console, { websocket: true, schema: { params: IdParams }, preValidation: async (req) => void mustFindVm(deps.agent, (req.params as { id: string }).id) }, (socket, req) => {
    attachConsole(socket, deps.agent, (req.params as { id: string }).id);
  });

  app.post(AGENT_PATHS.buildImage, { schema: { body: BuildImageRequest } }, async (req, reply) =>
    streamLines(reply, (emit) => buildImageStreaming(deps.imagesDir, req.body as BuildImageRequest, emit)),
  );

  app.post(AGENT_PATHS.importImage, { schema: { body: ImportImageRequest } }, async (req, reply) =>
    streamLines(reply, (emit) => importImageStreaming(deps.imagesDir, req.body as ImportImageRequest, emit)),
  );

  app.post(AGENT_PATHS.checkPorts, { schema: { body: CheckPortsRequest } }, async (req): Promise<CheckPortsResponse> => {
    return { busy: await portsInUse((req.body as CheckPortsRequest).ports) };
  });
  return app as unknown as FastifyInstance;
}

/** Serial history first, then live bytes; whatever the client sends goes to the guest. */
function attachConsole(socket: WebSocket, agent: Agent, vmId: string): void {
  const vm = agent.vm(vmId);
  if (!vm) return socket.close(1011, 'no such VM');
  const history = vm.serial.log.tail(CONSOLE_HISTORY_BYTES);
  if (history.length) socket.send(history, { binary: true });
  const unsubscribe = vm.serial.subscribe((data) => {
    if (socket.readyState === socket.OPEN) socket.send(data, { binary: true });
  });
  socket.on('message', (data: Buffer | ArrayBuffer | Buffer[]) => {
    const buf = Array.isArray(data) ? Buffer.concat(data) : Buffer.from(data as ArrayBuffer);
    vm.serial.write(buf);
  });
  socket.on('close', unsubscribe);
  socket.on('error', unsubscribe);
}

function streamLines(reply: FastifyReply, work: (emit: (line: ImageProgressLine) => void) => Promise<void>): FastifyReply {
  const out = new PassThrough();
  void work((line) => out.write(`${JSON.stringify(line)}\n`)).finally(() => out.end());
  return reply.header('content-type', 'application/x-ndjson').send(out);
}

function mustFindVm(agent: Agent, id: string): NonNullable<ReturnType<Agent['vm']>> {
  const vm = agent.vm(id);
  if (!vm) throw httpError(404, 'not_found', `VM ${id} is not on this host`);
  return vm;
}

function checkAuth(req: FastifyRequest, credential: string | undefined): void {
  const header = req.headers.authorization;
  const query = (req.query as { token?: unknown } | undefined)?.token;
  const token = header?.startsWith('Bearer ') ? header.slice(7).trim() : typeof query === 'string' ? query : undefined;
  if (!credential || !token || !sameSecret(token, credential)) {
    throw httpError(401, 'unauthorized', 'missing or wrong host credential: send "Authorization: Bearer <credential>"');
  }
}

function sameSecret(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

interface HttpError extends Error {
  statusCode: number;
  code: string;
}

function httpError(statusCode: number, code: string, message: string): HttpError {
  return Object.assign(new Error(message), { statusCode, code });
}

function sendError(reply: FastifyReply, err: FastifyError | HttpError): FastifyReply {
  const validation = (err as FastifyError).validation;
  if (validation) {
    const first = validation[0];
    const field = first ? (first.instancePath.replace(/^\//, '').replaceAll('/', '.') || String(first.params['missingProperty'] ?? '')) : undefined;
    return reply.status(400).send({ error: { code: 'invalid', message: err.message, ...(field ? { field } : {}) } });
  }
  const status = err.statusCode && err.statusCode >= 400 ? err.statusCode : 500;
  const code = status === 500 ? 'internal' : typeof err.code === 'string' && !err.code.startsWith('FST_') ? err.code : status === 404 ? 'not_found' : 'invalid';
  return reply.status(status).send({ error: { code, message: err.message } });
}
