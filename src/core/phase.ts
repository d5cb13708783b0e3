// The VM phase machine: pure, no I/O, no clock. The controller (and later the
// simulator) call it to decide whether a user's request is legal in the VM's
// current phase, and what phase an agent's observation moves the VM to.

export const VM_PHASES = ['Pending', 'Starting', 'Running', 'Paused', 'Stopping', 'Stopped', 'Failed', 'Deleting'] as const;
export type VmPhase = (typeof VM_PHASES)[number];

export const VM_REQUESTS = ['start', 'stop', 'force-stop', 'reboot', 'pause', 'resume', 'delete'] as const;
export type VmRequest = (typeof VM_REQUESTS)[number];

/** What the host agent saw of the VM's QEMU process. */
export type VmObservedState = 'absent' | 'starting' | 'running' | 'paused' | 'stopping' | 'stopped' | 'crashed';

export type Transition = { ok: true; next: VmPhase } | { ok: false; reason: string };

/** Phases from which each request is legal, and the phase it leads to. */
const REQUESTS: Record<VmRequest, { from: readonly VmPhase[]; next: VmPhase }> = {
  start: { from: ['Pending', 'Stopped', 'Failed'], next: 'Starting' },
  stop: { from: ['Starting', 'Running', 'Paused'], next: 'Stopping' },
  'force-stop': { from: ['Starting', 'Running', 'Paused', 'Stopping'], next: 'Stopping' },
  reboot: { from: ['Running'], next: 'Running' },
  pause: { from: ['Running'], next: 'Running' },
  resume: { from: ['Paused'], next: 'Paused' },
  delete: { from: ['Pending', 'Starting', 'Running', 'Paused', 'Stopping', 'Stopped', 'Failed'], next: 'Deleting' },
};

export function requestTransition(phase: VmPhase, request: VmRequest): Transition {
  const rule = REQUESTS[request];
  if (rule.from.includes(phase)) return { ok: true, next: rule.next };
  const allowed = rule.from.join(', ');
  return { ok: false, reason: `cannot ${request} a VM that is ${phase}; ${request} is allowed when the VM is ${allowed}` };
}

export type PowerIntent = 'running' | 'stopped' | 'paused';

/** An agent's observation of one VM: what its QEMU does, for which start epoch. */
export interface VmObservation {
  state: VmObservedState;
  /** The start epoch of the QEMU observed (0 when none was ever started). */
  epoch: number;
}

/**
 * The phase an observation moves the VM to. `intent` is what the user last
 * asked for and `epoch` the start epoch the controller last handed out: an
 * observation of an older epoch means the agent has not acted yet, so the
 * phase holds. A QEMU that is gone is "Stopped" whether we stopped it or the
 * guest powered off; "Failed" only when it died without a clean shutdown.
 */
export function observedTransition(phase: VmPhase, obs: VmObservation, intent: PowerIntent, epoch: number): VmPhase {
  if (phase === 'Deleting') return 'Deleting';
  if (intent !== 'stopped' && obs.epoch < epoch) return phase;
  switch (obs.state) {
    case 'crashed':
      return phase === 'Stopped' || phase === 'Pending' ? phase : 'Failed';
    case 'running':
      return intent === 'stopped' ? 'Stopping' : 'Running';
    case 'paused':
      return intent === 'stopped' ? 'Stopping' : 'Paused';
    case 'starting':
      return 'Starting';
    case 'stopping':
      return 'Stopping';
    case 'stopped':
    case 'absent':
      if (phase === 'Failed' || phase === 'Pending') return phase;
      return 'Stopped';
  }
}

export function isActive(phase: VmPhase): boolean {
  return phase === 'Starting' || phase === 'Running' || phase === 'Paused' || phase === 'Stopping';
}
