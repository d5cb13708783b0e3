// What the agent and its fencer share: the files in the agent's state dir,
// and the newline-delimited JSON they exchange over the fencer's unix socket
// (docs/ha.md). The agent sends `ping` every agentPingMs and `stand-down`
// when it stops normally; the fencer answers every ping with its status.
import path from 'node:path';
import type { RenewState } from './decide.js';

export interface FencerFiles {
  /** The unix socket the fencer listens on (mode 0600, in the 0700 state dir). */
  sock: string;
  /** The fencer's pid, while it runs. */
  pid: string;
  /** Written by the agent: the QEMUs of HA VMs (FenceTarget[]). */
  targets: string;
  /** Written by the fencer: what it killed, and when (FenceRecord[]). */
  fenced: string;
  /** Written by the fencer: the start of its last timely renewal, for the fencer after it (InheritedLease). */
  state: string;
  /** The fencer's own log (stdout and stderr). */
  log: string;
}

export function fencerFiles(stateDir: string): FencerFiles {
  const f = (name: string) => path.join(stateDir, name);
  return { sock: f('fencer.sock'), pid: f('fencer.pid'), targets: f('fence-targets.json'), fenced: f('fenced.json'), state: f('fencer-state.json'), log: f('fencer.log') };
}

/** The lease record's path in the shared pool. */
export function leaseFile(sharedPoolDir: string, hostId: string): string {
  return path.join(sharedPoolDir, 'leases', `${hostId}.json`);
}

/** One QEMU of an HA VM the fencer must kill when the lease lapses. */
export interface FenceTarget {
  vmId: string;
  /** The QEMU's pid, with its start time (field 22 of /proc/PID/stat): a reused pid is never killed. */
  pid?: number;
  startTimeTicks?: number;
  /** The VM's run dir: a QEMU whose pidfile there names it (and whose command line holds that pidfile) is killed too, even one the agent has not recorded yet. */
  runDir?: string;
}

export interface FenceRecord {
  vmId: string;
  pid: number;
  /** Wall clock, for people. */
  at: string;
  /** Since the start of the last timely renewal, on the fencer's monotonic clock. */
  sinceRenewalMs: number;
  /** Gone within killMarginMs of the SIGKILL. */
  gone: boolean;
  waitedMs: number;
}

export interface FencerStatus {
  pid: number;
  incarnation: string;
  hostId: string;
  ioTimeoutMs: number;
  /** The seq of the last renewal that ended in time (0: none yet). */
  seq: number;
  state: RenewState;
  leaseFresh: boolean;
  leaseValid: boolean;
  /** Since the start of the last timely renewal; null when there was none. */
  lastRenewalAgeMs: number | null;
  /** What this fencer killed (the latest few). */
  fenced: FenceRecord[];
}

/** `hold`: the agent stops on purpose while HA VMs run here; count it alive for `ms` more (it restarts and pings again). */
export type AgentMessage = { t: 'ping' } | { t: 'stand-down' } | { t: 'hold'; ms: number };
export type FencerMessage = { t: 'status'; status: FencerStatus } | { t: 'bye' };

/** Splits a byte stream into JSON lines; drops lines that do not parse (and overlong ones). */
export class JsonLines<T> {
  private buf = '';
  constructor(
    private readonly onMessage: (m: T) => void,
    private readonly maxLine = 64 * 1024,
  ) {}

  push(chunk: Buffer | string): void {
    this.buf += chunk.toString();
    for (let nl = this.buf.indexOf('\n'); nl >= 0; nl = this.buf.indexOf('\n')) {
      const line = this.buf.slice(0, nl).trim();
      this.buf = this.buf.slice(nl + 1);
      if (!line) continue;
      try {
        this.onMessage(JSON.parse(line) as T);
      } catch {
        // not JSON: ignored
      }
    }
    if (this.buf.length > this.maxLine) this.buf = '';
  }
}

export function line(m: AgentMessage | FencerMessage): string {
  return `${JSON.stringify(m)}\n`;
}
