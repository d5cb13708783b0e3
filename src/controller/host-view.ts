// Finding a host by name or id, and the API view of a host record.
import { ApiError, ErrorCode } from '../api/errors.js';
import type { Host } from '../api/resources.js';
import type { ControllerContext } from './context.js';
import type { HostRecord } from './records.js';

export async function mustFindHost(ctx: ControllerContext, nameOrId: string): Promise<HostRecord> {
  const host = (await ctx.state.listHosts()).find((h) => h.data.name === nameOrId || h.id === nameOrId);
  if (!host) throw new ApiError(ErrorCode.notFound, `no host named "${nameOrId}"; see \`drover host list\``, 'name');
  return host.data;
}

export function toApiHost(host: HostRecord, lastSeenMs: number | undefined): Host {
  const { credentialHash: _hash, credentialGeneration: _gen, ...rest } = host;
  return { ...rest, lastSeenAt: lastSeenMs ? new Date(lastSeenMs).toISOString() : host.lastSeenAt };
}
