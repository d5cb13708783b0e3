// image.build and image.import: the agent of every chosen host builds or
// imports the image and streams NDJSON progress, which the job keeps.
import { AGENT_PATHS } from '../../api/agent-protocol.js';
import { ApiError, ErrorCode } from '../../api/errors.js';
import type { AgentClient } from '../agent-client.js';
import { ShutdownError } from '../change-feed.js';
import { addImageHost } from '../images.js';
import type { JobKind, StepContext } from '../jobs.js';
import type { HostRecord } from '../records.js';

const SAVE_EVERY_MS = 500;

export function imageKinds(agents: AgentClient): JobKind[] {
  return [
    { kind: 'image.build', steps: () => [{ name: 'build', run: (ctx) => onEveryHost(ctx, agents, AGENT_PATHS.buildImage, ctx.job.params.build) }] },
    { kind: 'image.import', steps: () => [{ name: 'import', run: (ctx) => onEveryHost(ctx, agents, AGENT_PATHS.importImage, ctx.job.params.import) }] },
  ];
}

type ImagePath = typeof AGENT_PATHS.buildImage | typeof AGENT_PATHS.importImage;

async function onEveryHost(ctx: StepContext, agents: AgentClient, path: ImagePath, body: unknown): Promise<void> {
  for (const hostId of ctx.job.params.hostIds ?? []) {
    const host = await ctx.state.getHost(hostId);
    if (!host) throw new ApiError(ErrorCode.unavailable, `host ${hostId} left before the image was made`);
    try {
      await streamFromHost(ctx, agents, host.data, path, body);
    } catch (err) {
      // Shutting down aborts the stream: leave the job running, the next start resumes it.
      if (ctx.signal.aborted) throw new ShutdownError();
      throw err;
    }
  }
}

async function streamFromHost(ctx: StepContext, agents: AgentClient, host: HostRecord, path: ImagePath, body: unknown): Promise<void> {
  let lastSave = 0;
  for await (const line of agents.imageProgress(host, path, body, ctx.signal)) {
    if (line.type === 'error') {
      throw new ApiError(line.field ? ErrorCode.invalid : ErrorCode.internal, line.message, line.field);
    }
    if (line.type === 'done') {
      await addImageHost(ctx.state, host.id, line.image);
      ctx.job.progress = { done: 1, total: 1, message: `${line.image.name} ready on ${host.name}` };
      await ctx.save();
      return;
    }
    ctx.job.progress = { done: line.done, total: line.total, message: line.message ? `${line.step}: ${line.message}` : line.step };
    if (Date.now() - lastSave >= SAVE_EVERY_MS) {
      lastSave = Date.now();
      await ctx.save();
    }
  }
  throw new ApiError(ErrorCode.unavailable, `host agent ${host.name} ended the image stream without a result`);
}
