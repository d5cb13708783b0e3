// Starts real QEMU processes (no guest: no kernel, no disk). Every QEMU
// started here is killed by its pid afterwards.
import fs from 'node:fs';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { detectHostCaps } from './caps.js';
import { queryBalloon, queryHotpluggableCpus, queryStatus, quit } from './commands.js';
import { attachQemu, isQemuFor, QemuAlreadyRunningError, QemuStartError, readPidfile, readStderrTail, startQemu, waitForExit } from './process.js';
import type { QmpClient } from './qmp-client.js';
import { runPaths } from './run-dir.js';
import type { HostCapsResolved, QemuVmSpec } from './vm-spec.js';

let caps: HostCapsResolved;
const started: { pid: number; runDir: string }[] = [];
const clients: QmpClient[] = [];
const dirs: string[] = [];

beforeAll(async () => {
  caps = await detectHostCaps();
});

afterEach(async () => {
  for (const qmp of clients.splice(0)) qmp.close();
  for (const { pid, runDir } of started.splice(0)) {
    if (isQemuFor(pid, runDir)) process.kill(pid, 'SIGKILL');
    await waitForExit(pid, 5000);
  }
  for (const dir of dirs.splice(0)) fs.rmSync(dir, { recursive: true, force: true });
});

function spec(over: Partial<QemuVmSpec> = {}): QemuVmSpec {
  const runDir = fs.mkdtempSync('/tmp/dq-');
  dirs.push(runDir);
  return {
    id: 'test-vm',
    name: 'test-vm',
    cpus: 1,
    maxCpus: 2,
    memoryMiB: 128,
    maxMemoryMiB: 256,
    memorySlots: 2,
    boot: {},
    disks: [],
    nics: [{ id: 'nic0', mac: '52:54:00:00:00:01', mode: 'user', portForwards: [] }],
    balloon: true,
    runDir,
    ...over,
  };
}

async function start(s: QemuVmSpec): Promise<{ pid: number; qmp: QmpClient }> {
  const result = await startQemu(s, caps, { timeoutMs: 15_000 });
  started.push({ pid: result.pid, runDir: s.runDir });
  clients.push(result.qmp);
  return result;
}

const mode = (p: string): number => fs.statSync(p).mode & 0o777;
/** Field 6 of /proc/PID/stat: the session id. */
const sessionOf = (pid: number): number => Number(fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.split(' ')[3]);

describe('startQemu', () => {
  it('starts a detached QEMU whose QMP answers, with hot-pluggable CPUs and private sockets', async () => {
    const s = spec();
    const { pid, qmp } = await start(s);
    expect(await queryStatus(qmp)).toMatchObject({ running: true });
    const cpus = await queryHotpluggableCpus(qmp);
    expect(cpus).toHaveLength(2);
    expect(cpus.filter((c) => c['qom-path'])).toHaveLength(1);
    expect((await queryBalloon(qmp)).actual).toBe(128 * 1024 * 1024);
    expect(qmp.version.qemu.major).toBeGreaterThanOrEqual(7);
    expect(readPidfile(s.runDir)).toBe(pid);
    expect(sessionOf(pid)).toBe(pid);
    const files = runPaths(s.runDir);
    expect([mode(s.runDir), mode(files.qmp), mode(files.serial)]).toEqual([0o700, 0o600, 0o600]);
  });

  it('is found again from its pidfile after the agent lets go', async () => {
    const s = spec();
    const { pid, qmp } = await start(s);
    qmp.close(); // QEMU serves one QMP client at a time
    const attached = await attachQemu(s.runDir, { timeoutMs: 5000 });
    expect(attached?.pid).toBe(pid);
    if (!attached) return;
    clients.push(attached.qmp);
    expect((await queryStatus(attached.qmp)).running).toBe(true);
    await expect(startQemu(s, caps)).rejects.toBeInstanceOf(QemuAlreadyRunningError);
    await quit(attached.qmp);
    expect(await waitForExit(pid, 10_000)).toBe(true);
    expect(await attachQemu(s.runDir)).toBeNull();
  });

  it('attaches to nothing when no QEMU runs, or the pidfile names another process', async () => {
    const s = spec();
    expect(await attachQemu(s.runDir)).toBeNull();
    fs.writeFileSync(runPaths(s.runDir).pid, `${process.pid}\n`);
    expect(await attachQemu(s.runDir)).toBeNull();
  });

  it("fails with QEMU's own message when a disk file is missing", async () => {
    const s = spec({ disks: [{ id: 'disk0', path: '/tmp/drover-no-such-disk.qcow2', format: 'qcow2' }] });
    const err = await start(s).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(QemuStartError);
    const startErr = err as QemuStartError;
    expect(startErr.stderrTail).toContain("Could not open '/tmp/drover-no-such-disk.qcow2'");
    expect(startErr.message).toContain('No such file or directory');
    expect(startErr.exitCode).toBe(1);
    expect(readStderrTail(s.runDir)).toContain('drover-no-such-disk');
  });

  it('fails with QEMU\'s message for an impossible CPU layout', async () => {
    const err = await start(spec({ cpus: 4, maxCpus: 2 })).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(QemuStartError);
    expect((err as QemuStartError).stderrTail).toMatch(/qemu-system-x86_64: .*(cpus|socket-id)/i);
  });

  it('fails clearly when the QEMU binary cannot run', async () => {
    const err = await startQemu(spec(), { ...caps, qemuBinary: '/nonexistent/qemu-system-x86_64' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(QemuStartError);
    expect((err as Error).message).toMatch(/could not run QEMU: .*ENOENT/);
  });
});
