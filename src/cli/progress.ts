// A progress bar (cli-progress) for jobs that report progress, such as image
// builds: on a terminal a bar redrawn in place, elsewhere one line per change.
import cliProgress from 'cli-progress';
import type { Job } from '../api/resources.js';
import { writeLine, type OutStream } from './io.js';
import type { JobDisplay } from './wait.js';

export class ProgressDisplay implements JobDisplay {
  private bar: cliProgress.SingleBar | undefined;
  private lastLine = '';

  constructor(private readonly stream: OutStream) {}

  update(job: Job): void {
    const step = currentStep(job);
    const done = job.progress?.done ?? 0;
    const total = Math.max(job.progress?.total ?? 1, 1);
    const message = job.progress?.message ?? '';
    if (this.stream.isTTY) return this.draw(done, total, step, message);
    const line = `  ${step.padEnd(12)} ${done}/${total}${message ? `  ${message}` : ''}`;
    if (line !== this.lastLine) writeLine(this.stream, line);
    this.lastLine = line;
  }

  stop(): void {
    this.bar?.stop();
    this.bar = undefined;
  }

  private draw(done: number, total: number, step: string, message: string): void {
    if (!this.bar) {
      this.bar = new cliProgress.SingleBar(
        { stream: this.stream, format: '  [{bar}] {percentage}% | {step} {message}', hideCursor: false, clearOnComplete: false, barsize: 30 },
        cliProgress.Presets.shades_classic,
      );
      this.bar.start(total, done, { step, message });
    }
    this.bar.setTotal(total);
    this.bar.update(done, { step, message });
  }
}

function currentStep(job: Job): string {
  const running = job.steps.find((s) => s.state === 'running');
  const last = [...job.steps].reverse().find((s) => s.state !== 'pending');
  return running?.name ?? last?.name ?? job.kind;
}
