// Image records follow the agents' reports: an image lists the hosts that
// hold it, and disappears when no host holds it any more.
import type { ImageReport } from '../api/agent-protocol.js';
import type { CommitOp } from '../store/store.js';
import { KIND, type ImageRecord } from './records.js';
import { putOp, retryOnConflict, type ControllerState, type Versioned } from './state.js';

function imageRecord(r: ImageReport, hosts: string[]): ImageRecord {
  return {
    name: r.name,
    kind: r.kind,
    source: r.source,
    diskVirtualSizeBytes: r.diskVirtualSizeBytes,
    kernelVersion: r.kernelVersion,
    sizeBytes: r.sizeBytes,
    hosts,
    createdAt: r.createdAt,
  };
}

function same(a: ImageRecord, b: ImageRecord): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

/** The commit ops that make the image records agree with one host's full list of images. */
export function imageOpsForReport(existing: readonly Versioned<ImageRecord>[], hostId: string, reported: readonly ImageReport[]): CommitOp[] {
  const ops: CommitOp[] = [];
  const byName = new Map(existing.map((e) => [e.id, e]));
  for (const r of reported) {
    const current = byName.get(r.name);
    const hosts = [...new Set([...(current?.data.hosts ?? []), hostId])].sort();
    const next = imageRecord(r, hosts);
    if (!current || !same(current.data, next)) ops.push(putOp(KIND.image, r.name, next, current?.rev));
  }
  const names = new Set(reported.map((r) => r.name));
  for (const e of existing) {
    if (names.has(e.id) || !e.data.hosts.includes(hostId)) continue;
    const hosts = e.data.hosts.filter((h) => h !== hostId);
    ops.push(hosts.length ? putOp(KIND.image, e.id, { ...e.data, hosts }, e.rev) : { op: 'delete', kind: KIND.image, id: e.id, expectRev: e.rev });
  }
  return ops;
}

/** Records that one host now holds the image (after a build or import finished there). */
export async function addImageHost(state: ControllerState, hostId: string, image: ImageReport): Promise<void> {
  await retryOnConflict(async () => {
    const current = await state.store.get<ImageRecord>(KIND.image, image.name);
    const hosts = [...new Set([...(current?.data.hosts ?? []), hostId])].sort();
    await state.commit([putOp(KIND.image, image.name, imageRecord(image, hosts), current?.rev)]);
  });
}
