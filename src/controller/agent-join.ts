// POST /v1/agent/join: an agent presents the join token once and receives its
// own credential. A host that joins again under the same name keeps its id
// (and its VMs and labels) and gets a new credential; the old one stops working.
import { randomBytes } from 'node:crypto';
import { ApiError, ErrorCode } from '../api/errors.js';
import type { JoinRequest, JoinResponse } from '../api/agent-protocol.js';
import type { ControllerContext } from './context.js';
import { hostStateEvent } from './events.js';
import { checkJoinAllowed } from './host-remove.js';
import { KIND, nowIso, type HostRecord } from './records.js';
import { hashSecret, hostCredential, secretMatches } from './secrets.js';
import { createOp, putOp, retryOnConflict } from './state.js';

export async function joinHost(ctx: ControllerContext, req: JoinRequest): Promise<JoinResponse> {
  if (!secretMatches(req.joinToken, ctx.secrets.joinToken)) {
    throw new ApiError(ErrorCode.unauthorized, 'wrong join token: use the one in the controller state dir, file join-token', 'joinToken');
  }
  return retryOnConflict(async () => {
    const index = await ctx.state.store.get<{ hostId: string }>(KIND.hostName, req.name);
    const existing = index ? await ctx.state.getHost(index.data.hostId) : undefined;
    checkJoinAllowed(existing?.data);
    const id = existing?.id ?? randomBytes(8).toString('hex');
    const generation = (existing?.data.credentialGeneration ?? 0) + 1;
    const credential = hostCredential(ctx.secrets.credentialKey, id, generation);
    const host: HostRecord = {
      id, name: req.name, state: 'Joining', agentUrl: req.agentUrl, inventory: req.inventory,
      createdAt: existing?.data.createdAt ?? nowIso(), credentialHash: hashSecret(credential), credentialGeneration: generation,
      // Labels are the operator's: a re-join keeps them.
      ...(existing?.data.labels ? { labels: existing.data.labels } : {}),
    };
    const ops = existing ? [putOp(KIND.host, id, host, existing.rev)] : [createOp(KIND.hostName, req.name, { hostId: id }), createOp(KIND.host, id, host)];
    await ctx.state.commit(ops, hostStateEvent(existing?.data, host));
    ctx.log.info(`host ${req.name} joined (${id}) from ${req.agentUrl}`);
    return { hostId: id, credential };
  });
}
