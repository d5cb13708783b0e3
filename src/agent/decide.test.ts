import { describe, expect, it } from 'vitest';
import type { VmAssignment } from '../api/agent-protocol.js';
import { decide, exitReason, exitState, observedState, startFailureMessage, type VmFacts } from './decide.js';

const GRACE = 20_000;
const NOW = 1_000_000;
const opts = { now: NOW, stopGraceMs: GRACE };

function assignment(over: Partial<VmAssignment> = {}): VmAssignment {
  return {
    id: 'vm1',
    name: 'web',
    spec: { image: 'tiny', cpus: 1, maxCpus: 4, memoryMiB: 256, maxMemoryMiB: 1024, volumes: [], ports: [], mac: '52:54:00:00:00:01' },
    power: 'running',
    epoch: 1,
    rebootSeq: 0,
    forceStop: false,
    ...over,
  };
}

function facts(over: Partial<VmFacts> = {}): VmFacts {
  return { qemu: 'none', starting: false, lastStartedEpoch: 0, rebootSeqDone: 0, volumesMissing: false, ...over };
}

const kinds = (a: VmAssignment, f: VmFacts) => decide(a, f, opts).actions.map((x) => x.kind);

describe('decide: starting', () => {
  it('creates missing volumes, then starts a new epoch', () => {
    expect(decide(assignment(), facts({ volumesMissing: true }), opts).actions).toEqual([
      { kind: 'create-volumes' },
      { kind: 'start', epoch: 1, paused: false },
    ]);
  });
  it('creates volumes for a VM that stays stopped, and does nothing else', () => {
    expect(kinds(assignment({ power: 'stopped', epoch: 0 }), facts({ volumesMissing: true }))).toEqual(['create-volumes']);
    expect(kinds(assignment({ power: 'stopped', epoch: 0 }), facts())).toEqual([]);
  });
  it('never starts a second QEMU for an epoch it already started (crash, failed start, agent restart)', () => {
    expect(kinds(assignment({ epoch: 3 }), facts({ lastStartedEpoch: 3, lastExit: { state: 'crashed' } }))).toEqual([]);
    expect(kinds(assignment({ epoch: 3 }), facts({ lastStartedEpoch: 4 }))).toEqual([]);
    expect(kinds(assignment({ epoch: 4 }), facts({ lastStartedEpoch: 3 }))).toEqual(['start']);
  });
  it('starts a paused VM paused', () => {
    expect(decide(assignment({ power: 'paused', epoch: 2 }), facts({ lastStartedEpoch: 1 }), opts).actions).toEqual([{ kind: 'start', epoch: 2, paused: true }]);
  });
  it('does nothing while a start is under way', () => {
    expect(kinds(assignment({ power: 'stopped', forceStop: true }), facts({ starting: true }))).toEqual([]);
  });
  it('does not start a new epoch while the QEMU of the old one still runs', () => {
    expect(kinds(assignment({ epoch: 2 }), facts({ qemu: 'running', lastStartedEpoch: 1 }))).toEqual([]);
  });
});

describe('decide: running QEMU', () => {
  const running = facts({ qemu: 'running', lastStartedEpoch: 1 });
  it('is idle when everything matches', () => {
    expect(decide(assignment(), running, opts)).toEqual({ actions: [] });
  });
  it('pauses and resumes', () => {
    expect(kinds(assignment({ power: 'paused' }), running)).toEqual(['pause']);
    expect(kinds(assignment({ power: 'running' }), { ...running, qemu: 'paused' })).toEqual(['resume']);
    expect(kinds(assignment({ power: 'paused' }), { ...running, qemu: 'paused' })).toEqual([]);
  });
  it('resets once per new rebootSeq', () => {
    expect(decide(assignment({ rebootSeq: 2 }), { ...running, rebootSeqDone: 1 }, opts).actions).toEqual([{ kind: 'reset', rebootSeq: 2 }]);
    expect(kinds(assignment({ rebootSeq: 2 }), { ...running, rebootSeqDone: 2 })).toEqual([]);
  });
  it('recreates a volume that went missing', () => {
    expect(kinds(assignment(), { ...running, volumesMissing: true })).toEqual(['create-volumes']);
  });
});

describe('decide: stopping', () => {
  const running = facts({ qemu: 'running', lastStartedEpoch: 1 });
  it('powers down gracefully and decides again when the grace period ends', () => {
    expect(decide(assignment({ power: 'stopped' }), running, opts)).toEqual({ actions: [{ kind: 'powerdown' }], recheckAt: NOW + GRACE });
  });
  it('resumes a paused guest first, so it can see the power button', () => {
    expect(kinds(assignment({ power: 'stopped' }), { ...running, qemu: 'paused' })).toEqual(['resume', 'powerdown']);
  });
  it('waits for the guest while the grace period runs, then kills', () => {
    const asked = { ...running, stopRequestedAt: NOW - 5000 };
    expect(decide(assignment({ power: 'stopped' }), asked, opts)).toEqual({ actions: [], recheckAt: NOW - 5000 + GRACE });
    const late = { ...running, stopRequestedAt: NOW - GRACE };
    expect(kinds(assignment({ power: 'stopped' }), late)).toEqual(['kill']);
  });
  it('kills at once with forceStop, also during a graceful stop', () => {
    expect(kinds(assignment({ power: 'stopped', forceStop: true }), running)).toEqual(['kill']);
    expect(kinds(assignment({ power: 'stopped', forceStop: true }), { ...running, stopRequestedAt: NOW })).toEqual(['kill']);
  });
  it('lets a stop under way finish even when the intent went back to running', () => {
    expect(decide(assignment({ power: 'running' }), { ...running, stopRequestedAt: NOW - 1000 }, opts)).toEqual({ actions: [], recheckAt: NOW - 1000 + GRACE });
  });
  it('does nothing for a stopped VM without QEMU', () => {
    expect(decide(assignment({ power: 'stopped' }), facts({ lastStartedEpoch: 1 }), opts)).toEqual({ actions: [] });
  });
});

describe('decide: absent', () => {
  it('removes whatever the state', () => {
    for (const qemu of ['none', 'running', 'paused'] as const) {
      expect(kinds(assignment({ power: 'absent' }), facts({ qemu, volumesMissing: true }))).toEqual(['remove']);
    }
  });
});

describe('observedState', () => {
  it('maps local facts to the reported state', () => {
    expect(observedState({ qemu: 'none', starting: true })).toBe('starting');
    expect(observedState({ qemu: 'running', starting: false })).toBe('running');
    expect(observedState({ qemu: 'paused', starting: false })).toBe('paused');
    expect(observedState({ qemu: 'running', starting: false, stopRequestedAt: 1 })).toBe('stopping');
    expect(observedState({ qemu: 'none', starting: false })).toBe('stopped');
    expect(observedState({ qemu: 'none', starting: false, lastExit: { state: 'crashed' } })).toBe('crashed');
  });
});

describe('exit classification', () => {
  it('is a clean stop after SHUTDOWN or a stop we asked for, else a crash', () => {
    expect(exitState(true, false)).toBe('stopped');
    expect(exitState(false, true)).toBe('stopped');
    expect(exitState(false, false)).toBe('crashed');
  });
  it('explains a crash with the signal or code and the stderr tail', () => {
    expect(exitReason({ state: 'crashed', signal: 'SIGKILL', code: null })).toBe('QEMU exited unexpectedly (signal SIGKILL)');
    expect(exitReason({ state: 'crashed', code: 1, signal: null, stderr: 'boom\n' })).toBe('QEMU exited unexpectedly (exit code 1); last stderr: boom');
    expect(exitReason({ state: 'crashed', code: null, signal: null })).toContain('unknown');
  });
  it('tells a requested stop from a guest power-off', () => {
    expect(exitReason({ state: 'stopped', stopRequested: true, guestShutdown: true })).toBe('stopped on request');
    expect(exitReason({ state: 'stopped', guestShutdown: true })).toBe('the guest powered off');
  });
});

describe('startFailureMessage', () => {
  it('adds the stderr tail unless the message already holds it', () => {
    expect(startFailureMessage({ message: 'QEMU exited during start (code 1): bad option', stderrTail: 'bad option\n' })).toBe('QEMU exited during start (code 1): bad option');
    expect(startFailureMessage({ message: 'QMP did not answer in time', stderrTail: 'warning: x\nwarning: y' })).toBe('QMP did not answer in time; QEMU stderr: warning: x\nwarning: y');
    expect(startFailureMessage({ message: 'image "x" is not on this host' })).toBe('image "x" is not on this host');
  });
});

describe('decide during a migration', () => {
  const base = (over: Partial<VmAssignment> = {}): VmAssignment => assignment(over);
  const facts = (over: Partial<VmFacts> = {}): VmFacts => ({ qemu: 'running', starting: false, lastStartedEpoch: 1, rebootSeqDone: 0, volumesMissing: false, ...over });
  const src = { id: 'mig-1', role: 'source' as const, storage: 'shared' as const, targetUri: 'tcp:127.0.0.1:1' };
  const tgt = { id: 'mig-1', role: 'target' as const, storage: 'local' as const, listenHost: '127.0.0.1' };

  it('the source starts sending once, when it knows where to', () => {
    expect(decide(base({ migration: src }), facts(), opts).actions).toEqual([{ kind: 'migrate-out' }]);
    expect(decide(base({ migration: src }), facts({ outgoing: 'mig-1' }), opts).actions).toEqual([]);
    expect(decide(base({ migration: { ...src, targetUri: undefined } }), facts(), opts).actions).toEqual([]);
  });

  it('a handed-over guest is never resumed, only cancelled back or released', () => {
    const paused = facts({ qemu: 'paused', migratedOut: true });
    expect(decide(base({ migration: src }), paused, opts).actions).toEqual([]);
    expect(decide(base(), paused, opts).actions).toEqual([]);
    expect(decide(base({ migration: { ...src, cancel: true } }), paused, opts).actions).toEqual([{ kind: 'migrate-cancel' }]);
    expect(decide(base({ power: 'released' }), paused, opts).actions).toEqual([{ kind: 'release' }]);
  });

  it('a migrating guest is not paused or rebooted meanwhile', () => {
    expect(decide(base({ power: 'paused', rebootSeq: 5 }), facts({ outgoingActive: true, outgoing: 'mig-1' }), opts).actions).toEqual([]);
  });

  it('the target creates its volumes and starts QEMU paused and incoming, once per epoch', () => {
    const a = base({ epoch: 2, migration: tgt });
    expect(decide(a, facts({ qemu: 'none', lastStartedEpoch: 0, volumesMissing: true }), opts).actions).toEqual([
      { kind: 'create-volumes' }, { kind: 'start', epoch: 2, paused: true, incoming: true },
    ]);
    expect(decide(a, facts({ qemu: 'none', lastStartedEpoch: 2 }), opts).actions).toEqual([]);
    expect(decide(a, facts({ qemu: 'paused', lastStartedEpoch: 2, incomingState: 'listening' }), opts).actions).toEqual([]);
  });

  it('the target runs the guest at switchover, once', () => {
    const a = base({ epoch: 2, migration: { ...tgt, switchover: true } });
    expect(decide(a, facts({ qemu: 'paused', lastStartedEpoch: 2, incomingState: 'completed' }), opts).actions).toEqual([{ kind: 'switchover' }]);
    expect(decide(a, facts({ qemu: 'running', lastStartedEpoch: 2, incomingState: 'switched-over' }), opts).actions).toEqual([]);
  });

  it('a guest paused only by its migration is reported running', () => {
    expect(observedState({ qemu: 'paused', starting: false, migratedOut: true })).toBe('running');
    expect(observedState({ qemu: 'paused', starting: false, incomingState: 'listening' })).toBe('running');
    expect(observedState({ qemu: 'paused', starting: false, incomingState: 'switched-over' })).toBe('paused');
  });
});
