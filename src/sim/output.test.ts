import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { simulate } from './engine/simulate.js';
import { writeReport } from './output.js';
import { loaded } from './test-support/scenarios.js';
import { simplePlanner } from './test-support/simple-planner.js';

describe('report output', () => {
  const dir = mkdtempSync(join(tmpdir(), 'drover-sim-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('writes report.json and the six charts', () => {
    const r = simulate(loaded({ policies: { power: { enabled: true } } }), { planner: simplePlanner });
    const files = writeReport(dir, r);
    expect(files.map((f) => f.slice(dir.length + 1))).toEqual(['report.json', 'active-hosts.svg', 'utilization.svg', 'utilization-distribution.svg', 'migrations.svg', 'violations.svg', 'unplaced.svg']);
    expect(readdirSync(dir)).toHaveLength(7);
    expect(JSON.parse(readFileSync(join(dir, 'report.json'), 'utf8'))).toEqual(r);
    for (const f of files.slice(1)) {
      const svg = readFileSync(f, 'utf8');
      expect(svg, f).toMatch(/^<svg [^>]*>[\s\S]*<\/svg>\n$/);
      expect(svg, f).not.toMatch(/NaN|undefined|Infinity/);
    }
  });
});
