// `drover sim run`: in-process, with the simulator's test planner where the
// result should not depend on the real planner, and once with the real one.
import { Command } from 'commander';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { afterAll, describe, expect, it } from 'vitest';
import { simplePlanner } from '../../sim/test-support/simple-planner.js';
import { printError } from '../output.js';
import { Collector, run } from '../test-support/samples.js';
import { simCommand } from './sim.js';

const REPO = new URL('../../../', import.meta.url).pathname;
const dir = mkdtempSync(join(tmpdir(), 'drover-sim-cli-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function runSim(argv: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const stdout = new Collector();
  const stderr = new Collector();
  const io = { stdout, stderr, stdin: new PassThrough(), env: {}, cwd: REPO, homeDir: '/nonexistent-home' };
  const program = new Command('drover').option('--json').exitOverride().configureOutput({ writeOut: (s) => stdout.write(s), writeErr: (s) => stderr.write(s) });
  program.addCommand(simCommand(io, simplePlanner));
  try {
    await program.parseAsync(argv, { from: 'user' });
    return { code: 0, stdout: stdout.text, stderr: stderr.text };
  } catch (err) {
    return { code: printError(stderr, err), stdout: stdout.text, stderr: stderr.text };
  }
}

describe('drover sim run', () => {
  it('simulates a shipped scenario, writes the report and charts, and summarizes', async () => {
    const out = join(dir, 'small');
    const r = await runSim(['sim', 'run', 'scenarios/small-diurnal.yaml', '--out', out]);
    expect(r).toMatchObject({ code: 0, stderr: '' });
    expect(r.stdout).toMatch(/^Simulated "small-diurnal": 10 hosts, 100 VMs, 24 h at 5-minute steps \(seed 1\) in [\d.]+ s\.\n {2}Energy {7}240 host-hours on vs 240 always on \(0\.0% saved\)/);
    expect(r.stdout).toContain(`Report and charts in ${out}`);
    expect(readdirSync(out).sort()).toEqual(['active-hosts.svg', 'migrations.svg', 'report.json', 'unplaced.svg', 'utilization-distribution.svg', 'utilization.svg', 'violations.svg']);
  });

  it('prints JSON with --json and takes --seed', async () => {
    const r = await runSim(['sim', 'run', 'scenarios/small-diurnal.yaml', '--out', join(dir, 'seeded'), '--seed', '9', '--json']);
    expect(r.code).toBe(0);
    const j = JSON.parse(r.stdout);
    expect(j.scenario).toMatchObject({ name: 'small-diurnal', seed: 9, hosts: 10, vms: 100 });
    expect(j.totals.energy.baselineHostHours).toBe(240);
    expect(j.files).toHaveLength(7);
    expect((await runSim(['sim', 'run', 'scenarios/small-diurnal.yaml', '--seed', '-1'])).stderr).toContain('error: --seed "-1" is not a whole number');
  });

  it('refuses a bad scenario with exit 2, naming the field', async () => {
    const bad = join(dir, 'bad.yaml');
    writeFileSync(bad, 'name: bad\nduration: 1h\nstep: 5m\nhosts: [{ name: h, count: 1, cpus: 4, memory: 8G }]\nvms:\n  - { name: a, count: 1, cpus: 1, memory: 512, trace: { kind: sine } }\n');
    const r = await run(['sim', 'run', bad], { cwd: dir });
    expect(r.code).toBe(2);
    expect(r.stderr).toBe(`error: scenario ${bad}: vms[0].trace.kind: must be diurnal, bursty, step or csv, not "sine"\n  field: vms[0].trace.kind\n`);
    const missing = await run(['sim', 'run', 'nope.yaml'], { cwd: dir });
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/^error: scenario nope\.yaml: cannot read scenario .*nope\.yaml: ENOENT/);
  });

  // The simulator with the real planner (src/core/planner) on the shipped scenarios.
  it('runs the shipped small scenarios with the real planner', async () => {
    for (const name of ['small-diurnal', 'power-savings', 'failure']) {
      const r = await run(['sim', 'run', `scenarios/${name}.yaml`, '--out', join(dir, `real-${name}`), '--json'], { cwd: REPO });
      expect(r.stderr, name).toBe('');
      const { totals } = JSON.parse(r.stdout);
      expect(totals.doubleRuns, name).toBe(0);
      // failure.yaml loses a second host, beyond the F=1 that HA admission keeps room for.
      if (name !== 'failure') expect(totals.violations.must, name).toBe(0);
      if (name === 'power-savings') expect(totals.energy.savedPct).toBeGreaterThan(10);
      if (name === 'failure') {
        expect(totals.ha.restarted).toBeGreaterThan(0);
        expect(totals.ha.neverRestarted).toBe(0);
      }
    }
  });
});
