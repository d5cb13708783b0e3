// The migration displays and texts: a bar on a terminal, lines elsewhere, the
// end-of-migration summary.
import { describe, expect, it } from 'vitest';
import type { MigrationProgress } from '../api/migration.js';
import { MigrationBar, MigrationLines } from './migration-watch.js';
import { barValues, progressText, summaryLine } from './migration-view.js';
import { Collector, sampleMigration } from './test-support/samples.js';

const MiB = 1024 ** 2;
const P: MigrationProgress = {
  transferredBytes: 300 * MiB, remainingBytes: 56 * MiB, totalBytes: 256 * MiB, dirtyRateBytes: 10.5 * MiB, throughputBytes: 80 * MiB,
  expectedDowntimeMs: 120.4, passes: 3, throttlePct: 30, diskRemainingBytes: 256 * MiB, diskTotalBytes: 1024 * MiB,
};

describe('migration displays', () => {
  it('draws a bar with the live numbers on a terminal', () => {
    const out = Object.assign(new Collector(), { isTTY: true, columns: 250 });
    const bar = new MigrationBar(out);
    bar.update(sampleMigration({ state: 'transferring', progress: P, result: undefined }));
    bar.stop();
    for (const text of ['transferring', 'RAM 300 MiB/256 MiB', 'left 56 MiB', 'dirty 10.5 MiB/s', '80.0 MiB/s', 'downtime ~120 ms', 'pass 3', 'throttle 30%', 'disk 768 MiB/1 GiB (75%)']) {
      expect(out.text).toContain(text);
    }
    expect(out.text).toContain('] 75% transferring'); // (200 MiB RAM + 768 MiB disk) of 1280 MiB
  });

  it('fills the bar when the migration completed, keeping the last numbers', () => {
    const out = Object.assign(new Collector(), { isTTY: true, columns: 250 });
    const bar = new MigrationBar(out);
    bar.update(sampleMigration({ state: 'transferring', progress: { ...P, expectedDowntimeMs: undefined }, result: undefined }));
    bar.update(sampleMigration());
    bar.stop();
    expect(out.text).toMatch(/\] 100% completed \| disk 768 MiB\/1 GiB \(75%\) \| RAM 300 MiB\/256 MiB .*\| downtime - \|/);
  });

  it('prints one line per change of state or path elsewhere', () => {
    const out = new Collector();
    const lines = new MigrationLines(out);
    lines.update(sampleMigration({ state: 'queued', message: 'waiting for a slot on h1', path: [], result: undefined }));
    lines.update(sampleMigration({ state: 'queued', message: 'waiting for a slot on h1', path: [], result: undefined }));
    lines.update(sampleMigration({ state: 'transferring', progress: { ...P, diskTotalBytes: undefined, diskRemainingBytes: undefined }, result: undefined }));
    lines.update(sampleMigration({ state: 'transferring', progress: { ...P, passes: 4 }, result: undefined }));
    lines.update(sampleMigration({ state: 'transferring', path: ['precopy', 'auto-converge'], result: undefined }));
    lines.update(sampleMigration({ path: ['precopy', 'auto-converge'] }));
    lines.stop();
    expect(out.text).toBe([
      '  queued         waiting for a slot on h1',
      '  transferring   RAM 300 MiB/256 MiB, 56 MiB left, dirty 10.5 MiB/s, sending 80.0 MiB/s, downtime ~120 ms, pass 3, throttle 30%',
      '  transferring   path precopy → auto-converge',
      '  completed',
      '',
    ].join('\n'));
  });

  it('measures the bar in RAM and disk bytes already on the target', () => {
    expect(barValues(undefined)).toEqual({ value: 0, total: 1 });
    expect(barValues({ ...P, diskTotalBytes: undefined, diskRemainingBytes: undefined })).toEqual({ value: 200 * MiB, total: 256 * MiB });
    expect(progressText(P)).toContain('disk 768 MiB/1 GiB (75%)');
  });

  it('summarizes a completed, a failed and a postcopy-failed migration', () => {
    expect(summaryLine(sampleMigration({ path: ['precopy', 'postcopy'] }))).toBe('VM web migrated h0 → h1: completed in 3.5s, downtime 42 ms, sent 300.0 MiB (1.2 x RAM), path precopy → postcopy');
    expect(summaryLine(sampleMigration({ state: 'cancelled', result: undefined }))).toBe('Migration mig-1 of VM web (h0 → h1) cancelled after 4.0s, path precopy; VM web stays on h0');
    expect(summaryLine(sampleMigration({ state: 'failed', result: undefined, path: ['precopy', 'postcopy'] }))).toContain('failed after 4.0s, path precopy → postcopy; see: drover vm show web');
  });
});
