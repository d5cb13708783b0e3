// A one-host cluster whose agent places VM cgroups below the test run's own
// (--cgroups own), for tests of resource controls on real guests, and its
// cleanup: the VMs the test created are deleted, then any group the killed
// agent left behind, then the pool groups and drover/ itself when empty.
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll } from 'vitest';
import type { DroverClient } from '../src/api/client.js';
import { detectCgroups, removeVmCgroup, type CgroupDetection } from '../src/host/cgroups.js';
import { startCluster, type Cluster } from './harness.js';

export interface CgroupCluster {
  detection: CgroupDetection;
  /** Names of VMs the test created and has not deleted yet. */
  created: string[];
  start(): Promise<Cluster>;
  /** For afterAll: `pools` whose groups (pool-NAME) may be left. */
  stop(pools?: string[]): Promise<void>;
}

export function cgroupCluster(): CgroupCluster {
  const detection = detectCgroups('/sys/fs/cgroup', { placement: 'own' });
  let c: Cluster | undefined;
  const created: string[] = [];
  return {
    detection,
    created,
    async start() {
      c = await startCluster({ agents: 1, agentArgs: ['--cgroups', 'own'] });
      return c;
    },
    async stop(pools = []) {
      for (const name of created) {
        await c?.client.call('deleteVm', { params: { name } }).then((r) => c!.client.waitJob(r.job.id), () => undefined);
      }
      const ids = c ? (await c.client.call('listVms').catch(() => [])).map((v) => v.id) : [];
      await c?.stop();
      const layout = detection.layout;
      if (!layout) return;
      for (const id of ids) {
        for (const pool of [undefined, ...pools]) await removeVmCgroup(layout, id, { evict: true }, pool).catch(() => undefined);
      }
      for (const parent of new Set(Object.values(layout.parents))) {
        for (const dir of [...pools.map((p) => path.join(parent, layout.group, `pool-${p}`)), path.join(parent, layout.group)]) {
          try {
            fs.rmdirSync(dir);
          } catch {
            /* absent, or another agent's VMs are in it */
          }
        }
      }
    },
  };
}

/** The cluster started before the file's tests and stopped after them (`pools`: pool groups to clean up). */
export function useCgroupCluster(pools: string[] = []): CgroupCluster & { client(): DroverClient } {
  const cg = cgroupCluster();
  let c: Cluster | undefined;
  beforeAll(async () => {
    c = await cg.start();
  }, 180_000);
  afterAll(() => cg.stop(pools), 120_000);
  return { ...cg, client: () => c!.client };
}
