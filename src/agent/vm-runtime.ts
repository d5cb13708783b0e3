// One live QEMU process: its QMP connection, the events that change its
// state, and the watch for its exit. The agent either spawned it (it is our
// child and we get its exit status) or re-attached to it after a restart
// (then we poll its pid and watch QMP close).
import type { ChildProcess } from 'node:child_process';
import { EventEmitter } from 'node:events';
import fs from 'node:fs';
import { performance } from 'node:perf_hooks';
import type { VmStats } from '../api/resources.js';
import { processStats } from '../host/inventory.js';
import { cont, stop, systemPowerdown, systemReset, type BalloonInfo, type StatusInfo } from '../qemu/commands.js';
import { attachQemu, isAlive, killQemu, readStderrTail, startQemu } from '../qemu/process.js';
import type { QmpClient, QmpEvent } from '../qemu/qmp-client.js';
import { runPaths } from '../qemu/run-dir.js';
import type { HostCapsResolved, QemuVmSpec } from '../qemu/vm-spec.js';
import { createTaps, removeTaps } from './vm-taps.js';

export interface QemuExit {
  code: number | null;
  signal: string | null;
  /** QEMU announced a SHUTDOWN (guest power-off, ACPI, or a signal it handled). */
  shutdownSeen: boolean;
  guestShutdown: boolean;
  /** QEMU's own output of this run (after our start marker). */
  stderr: string;
}

const PID_POLL_MS = 500;
const QUICK_POLL_MS = 50;
const QMP_QUERY_MS = 2000;
const REAP_WAIT_MS = 5000;

/** Events: 'change' (paused/resumed), 'reset', 'exit' (QemuExit, once). */
export class VmRuntime extends EventEmitter {
  paused = false;
  private shutdownSeen = false;
  private guestShutdown = false;
  private exited = false;
  private detached = false;
  private poll: NodeJS.Timeout | null = null;
  private readonly isChild: boolean;
  private readonly exitPromise: Promise<void>;
  private resolveExit: () => void = () => {};

  private constructor(
    readonly pid: number,
    readonly qmp: QmpClient,
    readonly runDir: string,
    child: ChildProcess | null,
  ) {
    super();
    this.exitPromise = new Promise((resolve) => (this.resolveExit = resolve));
    qmp.on('event', (ev: QmpEvent) => this.onEvent(ev));
    // Our child: its 'exit' event tells us (with the status). Else we poll its pid.
    this.isChild = child !== null;
    if (child) this.watchChild(child);
    else this.pollPid(PID_POLL_MS);
    qmp.on('close', () => this.pollPid(QUICK_POLL_MS));
  }

  /** Spawns QEMU; throws QemuStartError (with its stderr tail) when it does not come up. */
  static async start(spec: QemuVmSpec, caps: HostCapsResolved): Promise<{ runtime: VmRuntime; qemuStartMs: number }> {
    const t0 = performance.now();
    await createTaps(spec);
    const { pid, qmp, child } = await startQemu(spec, caps).catch(async (err: unknown) => {
      await removeTaps(spec.runDir);
      throw err;
    });
    return { runtime: new VmRuntime(pid, qmp, spec.runDir, child), qemuStartMs: Math.round(performance.now() - t0) };
  }

  /** The QEMU of runDir if it still runs, with its run state read over QMP. */
  static async attach(runDir: string): Promise<VmRuntime | null> {
    const found = await attachQemu(runDir);
    if (!found) return null;
    const runtime = new VmRuntime(found.pid, found.qmp, runDir, null);
    const status = await found.qmp.execute<StatusInfo>('query-status', undefined, { timeoutMs: QMP_QUERY_MS });
    runtime.paused = !status.running;
    return runtime;
  }

  get hasExited(): boolean {
    return this.exited;
  }

  async pause(): Promise<void> {
    await stop(this.qmp);
    this.paused = true;
  }

  async resume(): Promise<void> {
    await cont(this.qmp);
    this.paused = false;
  }

  reset(): Promise<void> {
    return systemReset(this.qmp);
  }

  powerdown(): Promise<void> {
    return systemPowerdown(this.qmp);
  }

  /** SIGKILL (only if the pid still is this QEMU), then waits for the exit to be seen. */
  async kill(timeoutMs = 10_000): Promise<void> {
    if (this.exited) return;
    killQemu(this.pid, this.runDir, 'SIGKILL');
    this.pollPid(QUICK_POLL_MS);
    await this.waitExit(timeoutMs);
  }

  /** Resolves true once the exit has been seen, false after timeoutMs. */
  waitExit(timeoutMs: number): Promise<boolean> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), timeoutMs)));
    return Promise.race([this.exitPromise.then(() => true), timeout]).finally(() => clearTimeout(timer));
  }

  async stats(): Promise<VmStats> {
    const proc = processStats(this.pid) ?? { cpuSeconds: 0, rssBytes: 0 };
    const opts = { timeoutMs: QMP_QUERY_MS };
    const [status, balloon] = await Promise.allSettled([
      this.qmp.execute<StatusInfo>('query-status', undefined, opts),
      this.qmp.execute<BalloonInfo>('query-balloon', undefined, opts),
    ]);
    return {
      ...proc,
      ...(balloon.status === 'fulfilled' ? { balloonBytes: balloon.value.actual } : {}),
      ...(status.status === 'fulfilled' ? { qmpStatus: status.value.status } : {}),
    };
  }

  /** Lets go of QEMU without stopping it (agent shutdown). */
  detach(): void {
    this.detached = true;
    this.stopPolling();
    this.qmp.close();
  }

  private onEvent(ev: QmpEvent): void {
    switch (ev.event) {
      case 'SHUTDOWN':
        this.shutdownSeen = true;
        this.guestShutdown = ev.data?.guest === true;
        break;
      case 'STOP':
        this.paused = true;
        this.emit('change');
        break;
      case 'RESUME':
        this.paused = false;
        this.emit('change');
        break;
      case 'RESET':
        this.emit('reset');
        break;
    }
  }

  private watchChild(child: ChildProcess): void {
    if (child.exitCode !== null || child.signalCode !== null) return this.finish(child.exitCode, child.signalCode);
    child.once('exit', (code, signal) => this.finish(code, signal));
  }

  /**
   * Polls the pid (for a QEMU that is not our child, or to notice an exit
   * quickly). A dead QEMU that is not our child stays a zombie until init
   * reaps it; we wait for that (bounded), so "stopped" means its pid is gone.
   */
  private pollPid(everyMs: number): void {
    if (this.exited || this.detached || this.isChild) return;
    this.stopPolling();
    let deadSince: number | undefined;
    this.poll = setInterval(() => {
      if (isAlive(this.pid)) return;
      deadSince ??= Date.now();
      if (!fs.existsSync(`/proc/${this.pid}`) || Date.now() - deadSince >= REAP_WAIT_MS) this.finish(null, null);
    }, everyMs);
    this.poll.unref();
  }

  private stopPolling(): void {
    if (this.poll) clearInterval(this.poll);
    this.poll = null;
  }

  private finish(code: number | null, signal: string | null): void {
    if (this.exited || this.detached) return;
    this.exited = true;
    this.stopPolling();
    this.qmp.close();
    removeRunFiles(this.runDir);
    void removeTaps(this.runDir).then((errors) => errors.forEach((e) => this.emit('warning', `cannot remove a TAP: ${e}`)));
    const exit: QemuExit = { code, signal, shutdownSeen: this.shutdownSeen, guestShutdown: this.guestShutdown, stderr: lastRunStderr(this.runDir) };
    this.resolveExit();
    this.emit('exit', exit);
  }
}

/** QEMU leaves its sockets (and, when killed, its pidfile) behind. */
export function removeRunFiles(runDir: string): void {
  const files = runPaths(runDir);
  for (const f of [files.qmp, files.serial, files.pid]) fs.rmSync(f, { force: true });
}

/** What QEMU printed in its latest run: qemu.log after our last start marker, at most ~1500 bytes. */
export function lastRunStderr(runDir: string): string {
  return runStderrOf(readStderrTail(runDir, 8000));
}

export function runStderrOf(log: string): string {
  const marker = log.lastIndexOf('--- drover start ');
  const lineEnd = marker >= 0 ? log.indexOf('\n', marker) : -1;
  const run = marker < 0 ? log : lineEnd < 0 ? '' : log.slice(lineEnd + 1);
  const text = run.trim();
  return text.length > 1500 ? `...${text.slice(-1500)}` : text;
}
