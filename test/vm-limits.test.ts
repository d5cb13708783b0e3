// Per-VM resource controls on a real QEMU guest (TCG): a 2-vCPU tiny guest
// spins on both vCPUs (GET /burn); capped at 1 core, then (live) at a
// quarter core, its QEMU uses what the cap allows, and without the cap
// clearly more.
// Disk I/O caps show in QEMU's own view of each disk (query-block, read back
// by the agent). Bad limits are refused with the field and change nothing;
// deleting the VM removes its cgroup. CPU use is measured from
// /proc/PID/stat of the QEMU process (all its threads) over a few seconds: a
// resource measurement, not a timing; the figures are printed.
import fs from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { ApiError } from '../src/api/errors.js';
import type { SetVmLimitsRequest } from '../src/api/limits.js';
import type { Vm } from '../src/api/resources.js';
import { readVmCgroup, vmCgroupDirs } from '../src/host/cgroups.js';
import { useCgroupCluster } from './cgroup-cluster.js';
import { freePort, guestGet, guestInfo, waitFor } from './harness.js';

const MiB = 1024 ** 2;
/** Clock ticks per second of /proc/PID/stat (getconf CLK_TCK; 100 on Linux/x86). */
const CLK_TCK = 100;
/** The agent places VM groups below its own cgroups (--cgroups own): the test run's memory cgroup keeps them. */
const cg = useCgroupCluster();
const { detection: cgroups, created } = cg;
const layout = cgroups.layout;

/** CPU seconds (user + system, all threads) of a process so far. */
function cpuSecondsOf(pid: number): number {
  const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // After "pid (comm) ", field 3 (state) is index 0: utime and stime are fields 14 and 15.
  return (Number(fields[11]) + Number(fields[12])) / CLK_TCK;
}

/** The cores a process used over `seconds` (CPU seconds per wall second). */
async function coresUsed(pid: number, seconds: number): Promise<number> {
  const cpu0 = cpuSecondsOf(pid);
  const t0 = performance.now();
  await sleep(seconds * 1000);
  return (cpuSecondsOf(pid) - cpu0) / ((performance.now() - t0) / 1000);
}

const getVm = (name: string) => cg.client().call('getVm', { params: { name } });

async function setLimits(name: string, body: SetVmLimitsRequest, shown: (v: Vm) => boolean): Promise<Vm> {
  await cg.client().call('setVmLimits', { params: { name }, body });
  return waitFor(async () => {
    const v = await getVm(name);
    return shown(v) ? v : undefined;
  }, 30_000, `limits ${JSON.stringify(body)} in force`, 250);
}

async function refusal(name: string, body: object): Promise<ApiError> {
  const err = await cg.client().call('setVmLimits', { params: { name }, body: body as SetVmLimitsRequest }).then(() => undefined, (e: unknown) => e);
  expect(err).toBeInstanceOf(ApiError);
  return err as ApiError;
}

describe('per-VM resource controls on a real guest', () => {
  it.skipIf(!layout)(`caps a spinning 2-vCPU guest at 1 core, then 0.25, live; uncapped it uses more; disk caps show in QEMU${layout ? '' : ` (skipped: ${cgroups.reason})`}`, async () => {
    const name = 'burner';
    const port = await freePort();
    created.push(name);
    const limits = { cpuLimitCores: 1, memoryLimitMiB: 1024, diskReadIops: 200, diskWriteIops: 100, diskWriteBytesPerSec: 8 * MiB };
    await cg.client().call('createVm', { body: { name, image: 'tiny', cpus: 2, maxCpus: 2, memoryMiB: 256, diskBytes: 64 * MiB, ports: [{ hostPort: port, guestPort: 80 }], limits } });
    const vm = await waitFor(async () => {
      const v = await getVm(name);
      return v.phase === 'Running' && v.guestReadyAt && v.appliedLimits?.cgroup?.cpuLimitCores === 1 && v.appliedLimits.disks?.length === 2 ? v : undefined;
    }, 120_000, `${name} running with its limits`);
    const pid = vm.pid!;
    expect((await waitFor(() => guestInfo(port).catch(() => undefined), 30_000, '/info')).cpusOnline).toBe(2);

    // In force: QEMU in its own group with the caps; every disk throttled in QEMU (query-block, read back by the agent).
    expect(vm.appliedLimits?.cgroup).toEqual({ version: layout!.version, cpuWeight: 100, cpuLimitCores: 1, memoryLimitMiB: 1024 });
    expect((await readVmCgroup(layout!, vm.id))?.pids).toContain(pid);
    for (const d of vm.appliedLimits!.disks!) expect(d).toMatchObject({ readIops: 200, writeIops: 100, readBytesPerSec: 0, writeBytesPerSec: 8 * MiB });
    console.log(`disks in QEMU: ${JSON.stringify(vm.appliedLimits!.disks)}`);

    const burn = await guestGet(port, '/burn?seconds=600', 10_000);
    expect(burn.json).toMatchObject({ started: true, cpus: 2 });
    await sleep(2000);
    const atOne = await coresUsed(pid, 6);

    await setLimits(name, { set: { cpuLimitCores: 0.25 } }, (v) => v.appliedLimits?.cgroup?.cpuLimitCores === 0.25);
    await sleep(1000);
    const atQuarter = await coresUsed(pid, 6);
    const capped = (await getVm(name)).stats;
    const throttled = capped?.cpuThrottledSeconds ?? 0;

    await setLimits(name, { remove: ['cpuLimitCores'] }, (v) => v.appliedLimits?.cgroup !== undefined && v.appliedLimits.cgroup.cpuLimitCores === undefined);
    await sleep(1000);
    const uncapped = await coresUsed(pid, 6);
    console.log(`QEMU of a 2-vCPU guest spinning on both vCPUs: cap 1 core -> ${atOne.toFixed(3)} cores, cap 0.25 -> ${atQuarter.toFixed(3)}, no cap -> ${uncapped.toFixed(3)}; CPU throttled ${throttled.toFixed(1)} s while capped; memory charged to its cgroup ${((capped?.cgroupMemoryBytes ?? 0) / MiB).toFixed(0)} MiB`);
    await guestGet(port, '/burn?stop=1', 10_000).catch(() => undefined);

    // The caps hold whatever else the host runs; how much more the uncapped guest gets depends on that load (shared machines).
    expect(atOne).toBeLessThanOrEqual(1.2);
    expect(atQuarter).toBeLessThanOrEqual(0.3);
    expect(atOne).toBeGreaterThan(atQuarter);
    expect(uncapped).toBeGreaterThan(2 * atQuarter);
    expect(throttled).toBeGreaterThan(0);

    // Disk caps change live too.
    const disks = await setLimits(name, { set: { diskReadBytesPerSec: 4 * MiB }, remove: ['diskWriteIops'] }, (v) => v.appliedLimits?.disks?.every((d) => d.readBytesPerSec === 4 * MiB) === true);
    for (const d of disks.appliedLimits!.disks!) expect(d).toEqual({ id: d.id, readIops: 200, writeIops: 0, readBytesPerSec: 4 * MiB, writeBytesPerSec: 8 * MiB });

    // Refused with the field named; nothing changes, on the controller or on the host.
    const before = await getVm(name);
    const cases: Array<[object, string, RegExp]> = [
      [{ set: { cpuLimitCores: 3 } }, 'set.cpuLimitCores', /more than the VM's 2 vCPUs/],
      [{ set: { memoryLimitMiB: 200 } }, 'set.memoryLimitMiB', /give at least 320/],
      [{ set: { cpuWeight: 0 } }, 'set.cpuWeight', />= 1/],
      [{ set: { diskIops: 5 } }, 'set.diskIops', /is not a limit/],
      [{}, 'set', /nothing to change/],
    ];
    for (const [body, field, message] of cases) {
      const err = await refusal(name, body);
      expect(err.field, JSON.stringify(body)).toBe(field);
      expect(err.message).toMatch(message);
    }
    await sleep(2500); // a report or two
    const after = await getVm(name);
    expect(after.spec).toEqual(before.spec);
    expect(after.appliedLimits).toEqual(before.appliedLimits);

    // Deleted: its QEMU goes, and its cgroup with it.
    await cg.client().waitJob((await cg.client().call('deleteVm', { params: { name } })).job.id);
    created.splice(created.indexOf(name), 1);
    await waitFor(() => Object.values(vmCgroupDirs(layout!, vm.id)).every((d) => !fs.existsSync(d)), 20_000, 'the VM cgroup removed');
  }, 420_000);
});
