import { describe, expect, it } from 'vitest';
import { incomingAfterRestart, outgoingAfterRestart } from './migration-restart.js';

describe('source agent restarted during a migration', () => {
  it('follows a transfer QEMU still runs, whatever the agent had recorded', () => {
    for (const recorded of ['preparing', 'mirroring', 'transferring'] as const) {
      expect(outgoingAfterRestart(recorded, 'active', true)).toBe('follow');
      expect(outgoingAfterRestart(recorded, 'setup', true)).toBe('follow');
    }
    expect(outgoingAfterRestart('postcopy', 'postcopy-active', false)).toBe('follow');
    expect(outgoingAfterRestart('transferring', 'postcopy-paused', false)).toBe('follow');
  });

  it('reads back a transfer that ended while the agent was away', () => {
    // Completed: the guest is stopped here (handed over); following reads the end and records it.
    expect(outgoingAfterRestart('transferring', 'completed', false)).toBe('follow');
    expect(outgoingAfterRestart('transferring', 'failed', true)).toBe('follow');
    expect(outgoingAfterRestart('transferring', 'cancelled', true)).toBe('follow');
  });

  it('starts the transfer when the agent went away before it began', () => {
    expect(outgoingAfterRestart('preparing', 'none', true)).toBe('start');
    expect(outgoingAfterRestart('mirroring', undefined, true)).toBe('start');
    // An earlier migration of this QEMU that failed, or completed and was cancelled after the handover (the guest runs): not this one.
    expect(outgoingAfterRestart('preparing', 'failed', true)).toBe('start');
    expect(outgoingAfterRestart('preparing', 'completed', true)).toBe('start');
  });

  it('gives up on a transfer that ran and QEMU no longer knows of', () => {
    expect(outgoingAfterRestart('transferring', 'none', true)).toBe('lost');
  });

  it('keeps a final state', () => {
    for (const recorded of ['completed', 'failed', 'cancelled'] as const) expect(outgoingAfterRestart(recorded, 'active', false)).toBe('keep');
  });
});

describe('target agent restarted during a migration', () => {
  it('catches up with the incoming QEMU', () => {
    expect(incomingAfterRestart('listening', 'setup')).toEqual({});
    expect(incomingAfterRestart('listening', 'active')).toEqual({ state: 'transferring' });
    expect(incomingAfterRestart('transferring', 'active')).toEqual({});
    // The memory arrived while it was away: the guest waits, paused, for the switchover.
    expect(incomingAfterRestart('transferring', 'completed')).toEqual({ state: 'completed' });
    expect(incomingAfterRestart('completed', 'completed')).toEqual({ state: 'completed' });
  });

  it('reports a failed incoming migration', () => {
    expect(incomingAfterRestart('transferring', 'failed')).toMatchObject({ state: 'failed' });
    expect(incomingAfterRestart('preparing', 'none')).toMatchObject({ state: 'failed' });
  });

  it('runs the guest when postcopy began while it was away (it can run nowhere else)', () => {
    expect(incomingAfterRestart('transferring', 'postcopy-active')).toEqual({ state: 'postcopy', resumeGuest: true });
    expect(incomingAfterRestart('postcopy', 'postcopy-active')).toEqual({ resumeGuest: true });
    expect(incomingAfterRestart('postcopy', 'completed')).toEqual({ state: 'switched-over' });
    expect(incomingAfterRestart('transferring', 'postcopy-paused')).toEqual({ state: 'postcopy' });
  });

  it('leaves a guest that runs here, and a final state, alone', () => {
    expect(incomingAfterRestart('switched-over', 'completed')).toEqual({});
    expect(incomingAfterRestart('failed', 'failed')).toEqual({});
  });
});
