// `drover automation show|set|run` and `drover recommendations`, in-process
// against the fake controller.
import { beforeEach, describe, expect, it } from 'vitest';
import type { AutomationPass, AutomationSettings } from '../api/automation.js';
import { FakeApi, reply, useFakeApi } from './test-support/fake-api.js';
import { run } from './test-support/samples.js';

const SETTINGS: AutomationSettings = { balance: 'recommend', power: 'off', grow: 'recommend', growAt: 0.85, intervalS: 300, maxMoves: 8, haFailures: 1 };
const PASS: AutomationPass = {
  at: '2026-01-01T00:00:00.000Z', trigger: 'timer', balance: 'recommend', power: 'off',
  recommendations: [{
    goal: 'balance', level: 'recommend', summary: 'migrate web from h1 to h2', state: 'recommended', wave: 0,
    action: { kind: 'migrate', vm: 'vm-1', from: 'host-1', to: 'host-2' },
    reason: 'balance: moving web from h1 (load 0.5 -> 0.25) to h2 (0 -> 0.25) lowers the imbalance 0.25 -> 0',
    scoreBefore: 0.25, scoreAfter: 0, numbers: { memoryMiB: 512, migrationS: 0.51, net: 224.5 },
  }],
  metrics: { balance: { imbalanceBefore: 0.25, imbalanceAfter: 0, moves: 1 } },
};

describe('drover automation and drover recommendations', () => {
  let api: FakeApi;
  let env: Record<string, string>;
  useFakeApi((a, e) => ([api, env] = [a, e]));
  beforeEach(() => {
    api.on('getAutomation', () => SETTINGS);
    api.on('setAutomation', (req) => ({ ...SETTINGS, ...(req.body as object), updatedAt: '2026-01-01T00:00:00.000Z' }));
    api.on('listRecommendations', () => PASS);
    api.on('runAutomation', () => PASS);
  });

  it('shows the settings', async () => {
    const r = await run(['automation', 'show'], { env });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^balance:\s+recommend\npower:\s+off\ngrow:\s+recommend \(at 85% of a VM's vCPUs\)\ninterval:\s+300 s\nmax moves:\s+8\nha failures:\s+1\nupdated:\s+\(defaults\)\n$/);
  });

  it('sends only the options given, parsed, and prints the result', async () => {
    const r = await run(['automation', 'set', '--balance', 'Automatic', '--max-moves', '3'], { env });
    expect(r.code, r.stderr).toBe(0);
    expect(api.requests.map((q) => [q.route, q.method, q.body])).toEqual([['setAutomation', 'PUT', { balance: 'automatic', maxMoves: 3 }]]);
    expect(r.stdout).toMatch(/balance:\s+automatic\n/);
    const f = await run(['automation', 'set', '--ha-failures', '2'], { env });
    expect(f.code, f.stderr).toBe(0);
    expect(api.requests.at(-1)?.body).toEqual({ haFailures: 2 });
    expect(f.stdout).toMatch(/ha failures:\s+2\n/);
    const g = await run(['automation', 'set', '--grow', 'automatic', '--grow-at', '90%'], { env });
    expect(g.code, g.stderr).toBe(0);
    expect(api.requests.at(-1)?.body).toEqual({ grow: 'automatic', growAt: 0.9 });
    expect(g.stdout).toMatch(/grow:\s+automatic \(at 90% of a VM's vCPUs\)\n/);
    expect((await run(['automation', 'set', '--grow-at', '0.75'], { env })).code).toBe(0);
    expect(api.requests.at(-1)?.body).toEqual({ growAt: 0.75 });
  });

  it('refuses a bad level or number before sending anything, naming the option (exit 2)', async () => {
    const level = await run(['automation', 'set', '--power', 'sometimes'], { env });
    expect(level.code).toBe(2);
    expect(level.stderr).toBe('error: --power "sometimes" is not an automation level\n  field: --power\n  allowed: off, recommend, automatic\n');
    const interval = await run(['automation', 'set', '--interval', '5'], { env });
    expect(interval.code).toBe(2);
    expect(interval.stderr).toContain('--interval "5" is not a whole number from 10 to 86400');
    expect((await run(['automation', 'set', '--ha-failures', '11'], { env })).stderr).toContain('--ha-failures "11" is not a whole number from 0 to 10');
    expect((await run(['automation', 'set'], { env })).code).toBe(2);
    const share = await run(['automation', 'set', '--grow-at', '30%'], { env });
    expect(share.code).toBe(2);
    expect(share.stderr).toBe('error: --grow-at "30%" is not a share from 50% to 100% (e.g. 85% or 0.85)\n  field: --grow-at\n  allowed: 50% to 100% (e.g. 85% or 0.85)\n');
    expect((await run(['automation', 'set', '--grow', 'maybe'], { env })).code).toBe(2);
    expect(api.count()).toBe(0);
  });

  it('prints the controller\'s refusal with its field (exit 1)', async () => {
    api.on('setAutomation', () => reply(400, { error: { code: 'invalid', message: 'intervalS must be >= 10', field: 'intervalS', allowed: '>= 10' } }));
    const r = await run(['automation', 'set', '--interval', '10'], { env });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('field: intervalS');
  });

  it('lists the latest recommendations, and explains them', async () => {
    const r = await run(['recommendations'], { env });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('Pass at 2026-01-01T00:00:00.000Z (timer): balance recommend, power off\n');
    expect(r.stdout).toMatch(/GOAL\s+WAVE\s+ACTION\s+STATE\s+DETAIL\nbalance\s+0\s+migrate web from h1 to h2\s+recommended/);
    expect(r.stdout).toContain('balance: imbalanceBefore=0.25 imbalanceAfter=0 moves=1');
    const e = await run(['recommendations', '--explain'], { env });
    expect(e.stdout).toContain('1. migrate web from h1 to h2 (balance, wave 0): recommended\n   balance: moving web from h1');
    expect(e.stdout).toContain('   score 0.25 -> 0  memoryMiB=512  migrationS=0.51  net=224.5');
  });

  it('runs a pass on request; says when none has run yet', async () => {
    const r = await run(['automation', 'run', '--json'], { env });
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual(PASS);
    expect(api.requests.map((q) => q.route)).toEqual(['runAutomation']);
    api.on('listRecommendations', () => ({ trigger: 'none', balance: 'off', power: 'off', recommendations: [], metrics: {} }));
    expect((await run(['recommendations'], { env })).stdout).toBe('No automation pass has run yet (drover automation run runs one now).\n');
  });
});
