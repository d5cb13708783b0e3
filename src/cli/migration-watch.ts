// Following a migration until it ends: polls getMigration and shows it on
// stderr (stdout stays for the result). On a terminal a bar (cli-progress)
// redrawn in place with the live numbers; elsewhere, or with --json, one line
// per change of state or of the escalation path.
import { setTimeout as sleep } from 'node:timers/promises';
import cliProgress from 'cli-progress';
import type { Migration } from '../api/migration.js';
import type { Ctx } from './context.js';
import { writeLine, type OutStream } from './io.js';
import { barValues, isOver, pathText, progressFields, progressText } from './migration-view.js';

export interface MigrationDisplay {
  update(m: Migration): void;
  stop(): void;
}

/** The disk part comes early: while the disks mirror it is what moves, and a narrow terminal cuts the end of the line. */
const BAR_FORMAT = '  [{bar}] {percentage}% {state}{disk} | RAM {ram} | left {remaining} | dirty {dirty} | {throughput} | downtime {downtime} | pass {passes} | throttle {throttle}';

/** The bar, for a terminal. */
export class MigrationBar implements MigrationDisplay {
  private bar: cliProgress.SingleBar | undefined;
  /** The last numbers seen: a migration that ended may no longer carry any. */
  private progress: Migration['progress'];

  constructor(private readonly stream: OutStream) {}

  update(m: Migration): void {
    this.progress = m.progress ?? this.progress;
    const { value: done, total } = barValues(this.progress);
    const value = m.state === 'completed' ? total : done;
    const f = progressFields(this.progress);
    const payload = { ...f, state: m.state, disk: f.disk ? ` | disk ${f.disk}` : '' };
    if (!this.bar) {
      this.bar = new cliProgress.SingleBar(
        { stream: this.stream, format: BAR_FORMAT, hideCursor: false, clearOnComplete: false, barsize: 20 },
        cliProgress.Presets.shades_classic,
      );
      this.bar.start(total, value, payload);
    }
    this.bar.setTotal(total);
    this.bar.update(value, payload);
  }

  stop(): void {
    this.bar?.stop();
    this.bar = undefined;
  }
}

/** One line per change of state or path, for logs and pipes. */
export class MigrationLines implements MigrationDisplay {
  private state = '';
  private pathLength = 0;

  constructor(private readonly stream: OutStream) {}

  update(m: Migration): void {
    if (m.state === this.state && m.path.length === this.pathLength) return;
    const escalated = m.state === this.state;
    this.state = m.state;
    this.pathLength = m.path.length;
    const detail = escalated ? `path ${pathText(m)}` : (m.message ?? (isOver(m) ? '' : progressText(m.progress)));
    writeLine(this.stream, `  ${m.state.padEnd(14)} ${detail}`.trimEnd());
  }

  stop(): void {}
}

export function migrationDisplay(ctx: Ctx): MigrationDisplay {
  return ctx.io.stderr.isTTY && !ctx.json ? new MigrationBar(ctx.io.stderr) : new MigrationLines(ctx.io.stderr);
}

export const POLL_MS = 300;

/**
 * Polls the migration until it is over and returns its final record.
 * When io.signal aborts, stops watching (the migration goes on) and throws.
 */
export async function watchMigration(ctx: Ctx, first: Migration, display = migrationDisplay(ctx), pollMs = POLL_MS): Promise<Migration> {
  let m = first;
  try {
    for (;;) {
      display.update(m);
      if (isOver(m)) return m;
      await pause(ctx, m, pollMs);
      m = await ctx.client().call('getMigration', { params: { id: m.id } });
    }
  } finally {
    display.stop();
  }
}

async function pause(ctx: Ctx, m: Migration, ms: number): Promise<void> {
  try {
    await sleep(ms, undefined, { signal: ctx.io.signal });
  } catch {
    throw new Error(`stopped watching; migration ${m.id} goes on: drover migration show ${m.id}`);
  }
}
