import { describe, expect, it } from 'vitest';
import { VM_PHASES, VM_REQUESTS, observedTransition, requestTransition, type VmPhase } from './phase.js';

describe('requestTransition', () => {
  it('allows start from Stopped, Failed and Pending only', () => {
    const allowed = VM_PHASES.filter((p) => requestTransition(p, 'start').ok);
    expect(allowed.sort()).toEqual(['Failed', 'Pending', 'Stopped']);
    expect(requestTransition('Stopped', 'start')).toEqual({ ok: true, next: 'Starting' });
  });

  it('rejects illegal transitions with a reason naming the phase and what is allowed', () => {
    const t = requestTransition('Stopped', 'pause');
    expect(t.ok).toBe(false);
    if (!t.ok) {
      expect(t.reason).toContain('Stopped');
      expect(t.reason).toContain('Running');
    }
  });

  it('never allows anything but nothing on a VM that is Deleting', () => {
    for (const r of VM_REQUESTS) expect(requestTransition('Deleting', r).ok).toBe(false);
  });

  it('allows delete from every other phase', () => {
    for (const p of VM_PHASES.filter((x) => x !== 'Deleting')) expect(requestTransition(p, 'delete').ok).toBe(true);
  });

  it('resume only from Paused, pause and reboot only from Running', () => {
    expect(VM_PHASES.filter((p) => requestTransition(p, 'resume').ok)).toEqual(['Paused']);
    expect(VM_PHASES.filter((p) => requestTransition(p, 'pause').ok)).toEqual(['Running']);
    expect(VM_PHASES.filter((p) => requestTransition(p, 'reboot').ok)).toEqual(['Running']);
  });
});

describe('observedTransition', () => {
  const cur = (state: Parameters<typeof observedTransition>[1]['state'], epoch = 3) => ({ state, epoch });

  it('holds the phase while the agent has not acted on the newest start epoch', () => {
    expect(observedTransition('Starting', cur('stopped', 2), 'running', 3)).toBe('Starting');
    expect(observedTransition('Starting', cur('running', 3), 'running', 3)).toBe('Running');
  });

  it('reports a crash as Failed, a clean power-off as Stopped', () => {
    expect(observedTransition('Running', cur('crashed'), 'running', 3)).toBe('Failed');
    expect(observedTransition('Running', cur('stopped'), 'running', 3)).toBe('Stopped');
  });

  it('moves to Stopping when QEMU still runs but the user asked to stop', () => {
    expect(observedTransition('Stopping', cur('running'), 'stopped', 3)).toBe('Stopping');
    expect(observedTransition('Stopping', cur('absent'), 'stopped', 3)).toBe('Stopped');
  });

  it('keeps Failed until the user starts the VM again', () => {
    expect(observedTransition('Failed', cur('absent'), 'stopped', 3)).toBe('Failed');
  });

  it('Deleting is terminal for observations', () => {
    const all: VmPhase[] = [...VM_PHASES];
    for (const s of ['running', 'absent', 'crashed'] as const) expect(observedTransition('Deleting', cur(s), 'running', 3)).toBe('Deleting');
    expect(all).toContain('Deleting');
  });

  it('tracks pause and resume', () => {
    expect(observedTransition('Running', cur('paused'), 'paused', 3)).toBe('Paused');
    expect(observedTransition('Paused', cur('running'), 'running', 3)).toBe('Running');
  });
});
