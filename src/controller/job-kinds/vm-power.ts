// vm.start, vm.stop, vm.reboot, vm.pause, vm.resume: each writes its desired
// state once (step "request") and waits for the agent to carry it out.
import type { VmRequest } from '../../core/phase.js';
import type { JobKind, StepContext } from '../jobs.js';
import type { JobParams, VmRecord } from '../records.js';
import { failedError, startChange, superseded, waitRunning, waitVm, writeRequest, type DesiredChange, type VmJobTimeouts } from './vm-steps.js';

function powerKind(kind: string, request: (ctx: StepContext) => VmRequest, change: DesiredChange, wait: (ctx: StepContext) => Promise<void>): JobKind {
  return {
    kind,
    steps: () => [
      { name: 'request', run: (ctx) => writeRequest(ctx, request(ctx), change) },
      { name: 'wait', run: wait },
    ],
  };
}

export function vmPowerKinds(t: VmJobTimeouts): JobKind[] {
  return [
    powerKind('vm.start', () => 'start', startChange, (ctx) => waitRunning(ctx, t.startMs)),
    powerKind('vm.stop', (ctx) => (ctx.job.params.force ? 'force-stop' : 'stop'), stopChange, (ctx) => waitStopped(ctx, t.stopMs)),
    powerKind('vm.reboot', () => 'reboot', rebootChange, (ctx) => waitRebooted(ctx, t.startMs)),
    powerKind('vm.pause', () => 'pause', () => ({ vm: { intent: 'paused' } }), (ctx) => waitPhase(ctx, 'paused', 'Paused', t.pauseMs)),
    powerKind('vm.resume', () => 'resume', () => ({ vm: { intent: 'running' } }), (ctx) => waitPhase(ctx, 'running', 'Running', t.pauseMs)),
  ];
}

function stopChange(_vm: VmRecord, params: JobParams): ReturnType<DesiredChange> {
  return { vm: { intent: 'stopped', forceStop: params.force === true } };
}

function rebootChange(vm: VmRecord): ReturnType<DesiredChange> {
  const targetRebootSeq = vm.rebootSeq + 1;
  return { vm: { rebootSeq: targetRebootSeq }, params: { targetRebootSeq } };
}

function waitStopped(ctx: StepContext, timeoutMs: number): Promise<void> {
  return waitVm(ctx, 'to stop', timeoutMs, (vm) => {
    if (vm.intent !== 'stopped') throw superseded(vm, 'stopped');
    // A QEMU that died while stopping is not running either: the stop is done.
    return vm.phase === 'Stopped' || vm.phase === 'Failed';
  });
}

function waitRebooted(ctx: StepContext, timeoutMs: number): Promise<void> {
  const target = ctx.job.params.targetRebootSeq ?? 0;
  return waitVm(ctx, 'to reboot', timeoutMs, (vm) => {
    if (vm.phase === 'Failed') throw failedError(vm);
    if (vm.intent === 'stopped') throw superseded(vm, 'a reboot');
    return (vm.observed?.rebootSeq ?? 0) >= target;
  });
}

function waitPhase(ctx: StepContext, intent: VmRecord['intent'], phase: VmRecord['phase'], timeoutMs: number): Promise<void> {
  return waitVm(ctx, `to be ${phase}`, timeoutMs, (vm) => {
    if (vm.intent !== intent) throw superseded(vm, intent);
    if (vm.phase === 'Failed') throw failedError(vm);
    return vm.phase === phase;
  });
}
