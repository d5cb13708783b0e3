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
  /** Source: the guest was handed to a target and is paused here for good (unless the migration is cancelled). */
  migratedOut?: boolean;
  /** Source: the id of the outgoing migration that runs or ran (in this agent's life). */
  outgoing?: string;
  outgoingActive?: boolean;
  /** Target: the incoming migration's state; 'switched-over' once the guest runs here. */
  incomingState?: string;
}

export type Action =
  | { kind: 'create-volumes' }
  | { kind: 'start'; epoch: number; paused: boolean; incoming?: boolean }
  | { kind: 'migrate-out' }
  | { kind: 'migrate-cancel' }
  | { kind: 'switchover' }
  | { kind: 'release' }
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
  if (a.power === 'released') return { actions: [{ kind: 'release' }] };
  if (f.starting) return { actions: [] }; // the start finishes first; decide again after it
  const m = a.migration;
  if (m?.role === 'target') return targetDecision(a, f);
  // A migrating or handed-over guest is touched by nothing but the migration: never resumed, paused or rebooted.
  if (f.migratedOut || f.outgoingActive) return { actions: m?.role === 'source' && m.cancel ? [{ kind: 'migrate-cancel' }] : [] };
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

/** Target of a migration: start QEMU waiting for the stream, once per epoch; run the guest at switchover. */
function targetDecision(a: VmAssignment, f: VmFacts): Decision {
  if (f.qemu === 'none') {
    if (f.lastStartedEpoch >= a.epoch) return { actions: [] }; // it started for this epoch and died: reported, not retried
    const prepare: Action[] = f.volumesMissing ? [{ kind: 'create-volumes' }] : [];
    return { actions: [...prepare, { kind: 'start', epoch: a.epoch, paused: true, incoming: true }] };
  }
  if (a.migration?.switchover && f.incomingState !== 'switched-over') return { actions: [{ kind: 'switchover' }] };
  return { actions: [] };
}

function runningActions(a: VmAssignment, f: VmFacts): Action[] {
  const m = a.migration;
  if (m?.role === 'source' && m.targetUri && !m.cancel && f.outgoing !== m.id) return [{ kind: 'migrate-out' }];
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
export function observedState(f: Pick<VmFacts, 'qemu' | 'starting' | 'stopRequestedAt' | 'lastExit' | 'migratedOut' | 'outgoingActive' | 'incomingState'>): VmObservedState {
  if (f.starting) return 'starting';
  // A guest paused only by its migration (stopped for the switch here, or waiting on the target) is running as far as the user is concerned.
  const migrationPause = f.migratedOut === true || f.outgoingActive === true || (f.incomingState !== undefined && f.incomingState !== 'switched-over');
  if (f.qemu === 'paused' && migrationPause && f.stopRequestedAt === undefined) return 'running';
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
