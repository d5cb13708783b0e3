// Pure: what the agent does for one VM, given its assignment (desired state)
// and what it observes locally. No I/O and no clock: `now` is passed in.
import type { VmAssignment } from '../api/agent-protocol.js';
import type { VmObservedState } from '../core/phase.js';

/** The local facts about one VM. */
export interface VmFacts {
  /** What its QEMU does right now ('none': no QEMU runs). */
  qemu: 'none' | 'running' | 'paused';
  /** A start is under way (spawned, QMP not answering yet). */
  starting: boolean;
  lastStartedEpoch: number;
  rebootSeqDone: number;
  /** When we asked the current QEMU to stop; undefined when we did not. */
  stopRequestedAt?: number;
  volumesMissing: boolean;
  lastExit?: { state: 'stopped' | 'crashed' };
}

export type Action =
  | { kind: 'create-volumes' }
  | { kind: 'start'; epoch: number; paused: boolean }
  | { kind: 'pause' }
  | { kind: 'resume' }
  | { kind: 'reset'; rebootSeq: number }
  | { kind: 'powerdown' }
  | { kind: 'kill'; why: string }
  | { kind: 'remove' };

export interface Decision {
  actions: Action[];
  /** Decide again at this time (the graceful stop's deadline), if nothing else happens first. */
  recheckAt?: number;
}

export interface DecideOptions {
  now: number;
  stopGraceMs: number;
}

export function decide(a: VmAssignment, f: VmFacts, opts: DecideOptions): Decision {
  if (a.power === 'absent') return { actions: [{ kind: 'remove' }] };
  if (f.starting) return { actions: [] }; // the start finishes first; decide again after it
  const prepare: Action[] = f.volumesMissing ? [{ kind: 'create-volumes' }] : [];
  if (a.power === 'stopped' || (f.stopRequestedAt !== undefined && f.qemu !== 'none')) {
    // A stop under way runs to its end even if the intent changed meanwhile: the QEMU of this epoch is done.
    const stop = stopDecision(a, f, opts);
    return { ...stop, actions: [...prepare, ...stop.actions] };
  }
  if (f.qemu === 'none') {
    const start: Action[] = a.epoch > f.lastStartedEpoch ? [{ kind: 'start', epoch: a.epoch, paused: a.power === 'paused' }] : [];
    return { actions: [...prepare, ...start] };
  }
  return { actions: [...prepare, ...runningActions(a, f)] };
}

function runningActions(a: VmAssignment, f: VmFacts): Action[] {
  const actions: Action[] = [];
  if (a.rebootSeq > f.rebootSeqDone) actions.push({ kind: 'reset', rebootSeq: a.rebootSeq });
  if (a.power === 'paused' && f.qemu === 'running') actions.push({ kind: 'pause' });
  if (a.power === 'running' && f.qemu === 'paused') actions.push({ kind: 'resume' });
  return actions;
}

function stopDecision(a: VmAssignment, f: VmFacts, opts: DecideOptions): Decision {
  if (f.qemu === 'none') return { actions: [] };
  if (a.forceStop) return { actions: [{ kind: 'kill', why: 'force stop requested' }] };
  if (f.stopRequestedAt === undefined) {
    // A paused guest cannot see the ACPI button: let it run so it can shut down.
    const resume: Action[] = f.qemu === 'paused' ? [{ kind: 'resume' }] : [];
    return { actions: [...resume, { kind: 'powerdown' }], recheckAt: opts.now + opts.stopGraceMs };
  }
  const deadline = f.stopRequestedAt + opts.stopGraceMs;
  if (opts.now >= deadline) return { actions: [{ kind: 'kill', why: `guest did not power off within ${opts.stopGraceMs} ms` }] };
  return { actions: [], recheckAt: deadline };
}

/** The state the agent reports for the VM. */
export function observedState(f: Pick<VmFacts, 'qemu' | 'starting' | 'stopRequestedAt' | 'lastExit'>): VmObservedState {
  if (f.starting) return 'starting';
  if (f.qemu !== 'none') return f.stopRequestedAt !== undefined ? 'stopping' : f.qemu;
  return f.lastExit?.state ?? 'stopped';
}

/** How a QEMU exit counts: clean after a SHUTDOWN event or a stop we asked for, else a crash. */
export function exitState(shutdownSeen: boolean, stopRequested: boolean): 'stopped' | 'crashed' {
  return shutdownSeen || stopRequested ? 'stopped' : 'crashed';
}

/** The reason text of an exit; stderr is QEMU's own output of this run. */
export function exitReason(exit: { state: 'stopped' | 'crashed'; stopRequested?: boolean; code?: number | null; signal?: string | null; guestShutdown?: boolean; stderr?: string }): string {
  if (exit.state === 'stopped') return exit.stopRequested ? 'stopped on request' : exit.guestShutdown ? 'the guest powered off' : 'QEMU shut down';
  const how = exit.signal ? `signal ${exit.signal}` : exit.code !== undefined && exit.code !== null ? `exit code ${exit.code}` : 'exit status unknown';
  const stderr = exit.stderr?.trim();
  return `QEMU exited unexpectedly (${how})${stderr ? `; last stderr: ${stderr}` : ''}`;
}

/** The message of a failed start, with QEMU's stderr tail when the message does not already hold it. */
export function startFailureMessage(err: { message: string; stderrTail?: string }): string {
  const tail = err.stderrTail?.trim();
  if (!tail || err.message.includes(tail)) return err.message;
  return `${err.message}; QEMU stderr: ${tail.length > 1500 ? `...${tail.slice(-1500)}` : tail}`;
}
