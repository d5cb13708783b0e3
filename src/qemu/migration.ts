// Typed QMP wrappers for live migration (QAPI of QEMU 7.2): the memory
// stream (migrate, migrate-incoming), its tuning, and the disk mirror of
// local-storage migration (an NBD export on the target, blockdev-mirror on
// the source), as libvirt does it.
import type { QmpClient } from './qmp-client.js';

/** QAPI MigrationStatus. */
export type MigrationStatus =
  | 'none' | 'setup' | 'cancelling' | 'cancelled' | 'active' | 'postcopy-active' | 'postcopy-paused'
  | 'postcopy-recover' | 'completed' | 'failed' | 'colo' | 'pre-switchover' | 'device' | 'wait-unplug';

export interface MigrationInfo {
  status?: MigrationStatus;
  ram?: {
    transferred: number;
    remaining: number;
    total: number;
    'dirty-pages-rate': number;
    'page-size': number;
    mbps: number;
    'dirty-sync-count': number;
    'postcopy-requests'?: number;
  };
  'expected-downtime'?: number;
  downtime?: number;
  'total-time'?: number;
  'setup-time'?: number;
  'cpu-throttle-percentage'?: number;
  'error-desc'?: string;
  'socket-address'?: { type: string; host?: string; port?: string }[];
}

export interface BlockJobInfo {
  device: string;
  type: string;
  len: number;
  offset: number;
  ready: boolean;
  status: string;
}

export type MigrationCapability = 'events' | 'auto-converge' | 'postcopy-ram' | 'pause-before-switchover';

export async function setMigrationCapabilities(qmp: QmpClient, caps: Partial<Record<MigrationCapability, boolean>>): Promise<void> {
  const capabilities = Object.entries(caps).map(([capability, state]) => ({ capability, state }));
  await qmp.execute('migrate-set-capabilities', { capabilities });
}

export interface MigrationParameters {
  'max-bandwidth'?: number;
  'downtime-limit'?: number;
  'cpu-throttle-initial'?: number;
  'cpu-throttle-increment'?: number;
  'throttle-trigger-threshold'?: number;
  'max-postcopy-bandwidth'?: number;
  'announce-initial'?: number;
  'announce-rounds'?: number;
}

export async function setMigrationParameters(qmp: QmpClient, params: MigrationParameters): Promise<void> {
  await qmp.execute('migrate-set-parameters', params);
}

export function queryMigrate(qmp: QmpClient): Promise<MigrationInfo> {
  return qmp.execute<MigrationInfo>('query-migrate');
}

/** Target: listen for the memory stream. Port 0 lets the kernel choose; query-migrate then tells the port. */
export async function migrateIncoming(qmp: QmpClient, uri: string): Promise<void> {
  await qmp.execute('migrate-incoming', { uri });
}

export async function migrate(qmp: QmpClient, uri: string): Promise<void> {
  await qmp.execute('migrate', { uri });
}

export async function migrateCancel(qmp: QmpClient): Promise<void> {
  await qmp.execute('migrate_cancel');
}

export async function migrateStartPostcopy(qmp: QmpClient): Promise<void> {
  await qmp.execute('migrate-start-postcopy');
}

export async function nbdServerStart(qmp: QmpClient, host: string, port: number): Promise<void> {
  await qmp.execute('nbd-server-start', { addr: { type: 'inet', data: { host, port: String(port) } } });
}

/** Exports a block node (writable) under `name`, for the source's mirror to write into. */
export async function nbdExport(qmp: QmpClient, nodeName: string, name: string): Promise<void> {
  await qmp.execute('block-export-add', { type: 'nbd', id: `exp-${name}`, 'node-name': nodeName, name, writable: true });
}

/** Stops the NBD server and drops its exports (and the source's connections). */
export async function nbdServerStop(qmp: QmpClient): Promise<void> {
  await qmp.execute('nbd-server-stop');
}

/** Source: a block node that writes to the target's NBD export. */
export async function blockdevAddNbd(qmp: QmpClient, nodeName: string, server: { host: string; port: number }, exportName: string): Promise<void> {
  await qmp.execute('blockdev-add', { driver: 'nbd', 'node-name': nodeName, server: { type: 'inet', host: server.host, port: String(server.port) }, export: exportName });
}

/**
 * Source: copies `device` (only its top layer: the target has the same
 * backing image) to `target` and then keeps mirroring new writes.
 * auto-dismiss off, so the job's end can be read back before it vanishes.
 */
export async function blockdevMirror(qmp: QmpClient, jobId: string, device: string, target: string): Promise<void> {
  await qmp.execute('blockdev-mirror', { 'job-id': jobId, device, target, sync: 'top', 'auto-dismiss': false });
}

export function queryBlockJobs(qmp: QmpClient): Promise<BlockJobInfo[]> {
  return qmp.execute<BlockJobInfo[]>('query-block-jobs');
}

/** On a ready mirror: copy what is left and end without switching the guest to the target node. */
export async function blockJobCancel(qmp: QmpClient, jobId: string): Promise<void> {
  await qmp.execute('block-job-cancel', { device: jobId });
}

export async function jobDismiss(qmp: QmpClient, jobId: string): Promise<void> {
  await qmp.execute('job-dismiss', { id: jobId });
}

export async function blockdevDel(qmp: QmpClient, nodeName: string): Promise<void> {
  await qmp.execute('blockdev-del', { 'node-name': nodeName });
}

/** Target: gratuitous ARP/RARP from every NIC so switches learn the guest's new port. */
export async function announceSelf(qmp: QmpClient): Promise<void> {
  await qmp.execute('announce-self', { initial: 50, max: 550, rounds: 5, step: 100 });
}
