// The job displays: finished steps as lines; on a terminal the running step
// redrawn in place; progress as a bar on a terminal, as lines elsewhere.
import { describe, expect, it } from 'vitest';
import type { Job } from '../api/resources.js';
import { ProgressDisplay } from './progress.js';
import { Collector, sampleJob } from './test-support/samples.js';
import { StepDisplay } from './wait.js';

const T0 = '2024-01-01T00:00:00.000Z';
const T1 = '2024-01-01T00:00:01.500Z';

function job(steps: Job['steps'], over: Partial<Job> = {}): Job {
  return sampleJob({ state: 'running', steps, ...over });
}

describe('StepDisplay', () => {
  it('prints each finished step once, with its duration and message', () => {
    const out = new Collector();
    const d = new StepDisplay(out);
    d.update(job([{ name: 'volumes', state: 'running', startedAt: T0 }, { name: 'start', state: 'pending' }]));
    d.update(job([{ name: 'volumes', state: 'done', startedAt: T0, endedAt: T1 }, { name: 'start', state: 'running', startedAt: T1 }]));
    d.update(job([{ name: 'volumes', state: 'done', startedAt: T0, endedAt: T1 }, { name: 'start', state: 'failed', startedAt: T1, endedAt: T1, message: 'no QEMU' }]));
    d.update(job([{ name: 'volumes', state: 'undone', startedAt: T0, endedAt: T1 }, { name: 'start', state: 'failed', startedAt: T1, endedAt: T1, message: 'no QEMU' }], { state: 'rolled-back' }));
    d.stop();
    expect(out.text).toBe('  ✓ volumes      1.5s\n  ✗ start        0.0s  no QEMU\n  ↺ volumes      undone\n');
  });

  it('redraws the running step in place on a terminal and clears it', () => {
    const out = Object.assign(new Collector(), { isTTY: true });
    let now = 1000;
    const d = new StepDisplay(out, () => now);
    d.update(job([{ name: 'start', state: 'running', startedAt: T0 }]));
    now = 3000;
    d.update(job([{ name: 'start', state: 'running', startedAt: T0 }], { progress: { done: 1, total: 2 } }));
    d.update(job([{ name: 'start', state: 'done', startedAt: T0, endedAt: T1 }], { state: 'succeeded' }));
    d.stop();
    expect(out.text).toBe(['\r\x1b[2K  … start        0.0s', '\r\x1b[2K', '\r\x1b[2K  … start        2.0s', '\r\x1b[2K', '  ✓ start        1.5s\n'].join(''));
  });
});

describe('ProgressDisplay', () => {
  it('prints a line per change when not on a terminal', () => {
    const out = new Collector();
    const d = new ProgressDisplay(out);
    const step = [{ name: 'kernel', state: 'running' as const }];
    d.update(job(step, { progress: { done: 1, total: 3, message: 'download' } }));
    d.update(job(step, { progress: { done: 1, total: 3, message: 'download' } }));
    d.update(job(step, { progress: { done: 2, total: 3 } }));
    d.stop();
    expect(out.text).toBe('  kernel       1/3  download\n  kernel       2/3\n');
  });

  it('draws a bar on a terminal', () => {
    const out = Object.assign(new Collector(), { isTTY: true, columns: 100 });
    const d = new ProgressDisplay(out);
    d.update(job([{ name: 'initramfs', state: 'running' }], { progress: { done: 2, total: 4, message: 'packing' } }));
    d.stop();
    expect(out.text).toContain('50% | initramfs packing');
  });
});
