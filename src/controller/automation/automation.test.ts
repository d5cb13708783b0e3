// The balancer and power loop against a real controller (real SQLite store,
// real HTTP API) and two fake agents: h1 runs three VMs that use 1000 MiB of
// their 1024 MiB each (3000 of h1's 4096 MiB), h2 is empty. One scenario, in
// order: settings refused, off, maintenance, recommend, power, a refused
// action, automatic, no pass while its migrations run, a VM in flight not
// moved again.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { AutomationPass, Recommendation } from '../../api/automation.js';
import type { AutomationSettingsUpdate } from '../../api/automation.js';
import type { DroverEvent } from '../../api/resources.js';
import { FakeAgent, TINY } from '../test-support/fake-agent.js';
import { eventually, startTestBed, type TestBed, joinAgent } from '../test-support/harness.js';

const MiB = 1024 ** 2;

describe('automation: balancer and power loop', () => {
  let bed: TestBed;
  let h2: FakeAgent;
  let events: DroverEvent[] = [];
  const ids: Record<string, string> = {};
  const names: Record<string, string> = {};
  const decisions = () => events.filter((e) => e.kind === 'recommendation' || e.kind === 'automation');
  const set = (body: AutomationSettingsUpdate) => bed.client.call('setAutomation', { body });
  const run = () => bed.client.call('runAutomation', { body: {} });
  const migrations = () => bed.client.call('listMigrations');
  const migrateJobs = async () => (await bed.client.call('listJobs')).filter((j) => j.kind === 'vm.migrate');
  const errorOf = (body: Record<string, unknown>) => set(body as AutomationSettingsUpdate).then(() => undefined, (e: unknown) => e);

  beforeAll(async () => {
    bed = await startTestBed();
    bed.agent.converge();
    h2 = await joinAgent(bed, 'h2');
    h2.converge();
    for (const name of ['web-1', 'web-2', 'web-3']) {
      const { vm, job } = await bed.client.call('createVm', { body: { name, image: 'tiny', host: 'h1', memoryMiB: 1024 } });
      await bed.client.waitJob(job.id, undefined, 20);
      bed.agent.override.set(vm.id, { stats: { cpuSeconds: 1, rssBytes: 1000 * MiB } });
      names[vm.id] = name;
    }
    for (const h of await bed.client.call('listHosts')) ids[h.name] = h.id;
    // The agents report the VMs' memory in use: the snapshot carries it.
    await eventually(async () => (await bed.client.call('getSnapshot')).vms.every((v) => v.memoryUsageMiB === 1000), 'the usage in the snapshot');
    bed.ctl.ctx.state.events.subscribe((e) => events.push(e));
  });
  afterAll(async () => {
    await h2?.stop();
    await bed?.stop();
  });
  beforeEach(() => {
    events = [];
  });

  it('has defaults: balance and grow recommend, power off', async () => {
    expect(await bed.client.call('getAutomation')).toEqual({ balance: 'recommend', power: 'off', grow: 'recommend', growAt: 0.85, intervalS: 300, maxMoves: 8, haFailures: 1 });
  });

  const refusals: Array<{ body: Record<string, unknown>; field: string; message: RegExp }> = [
    { body: { balance: 'sometimes' }, field: 'balance', message: /balance must be one of: off, recommend, automatic/ },
    { body: { power: 'automatic', intervalS: 5 }, field: 'intervalS', message: /intervalS must be >= 10/ },
    { body: { maxMoves: 1000 }, field: 'maxMoves', message: /maxMoves must be <= 100/ },
    { body: { maxMoves: 1.5 }, field: 'maxMoves', message: /maxMoves must be an integer/ },
    { body: { grow: 'automatic', growAt: 0.2 }, field: 'growAt', message: /growAt must be >= 0.5/ },
    { body: { balance: 'off', balanse: 'automatic' }, field: 'balanse', message: /balanse is not an automation setting/ },
  ];
  for (const r of refusals) {
    it(`refuses ${JSON.stringify(r.body)}, naming ${r.field}, and changes nothing`, async () => {
      const before = await bed.client.call('getAutomation');
      const err = await errorOf(r.body);
      expect(err).toMatchObject({ code: 'invalid', field: r.field });
      expect((err as Error).message).toMatch(r.message);
      expect(await bed.client.call('getAutomation')).toEqual(before);
      expect(events.filter((e) => e.kind === 'automation.settings')).toEqual([]);
    });
  }

  it('off: a pass plans nothing, records nothing and moves nothing', async () => {
    const s = await set({ balance: 'off', power: 'off', grow: 'off' });
    expect(s).toMatchObject({ balance: 'off', power: 'off', grow: 'off', updatedAt: expect.any(String) });
    expect(events.map((e) => e.message)).toEqual(['automation settings: balance recommend -> off, grow recommend -> off']);
    const p = await run();
    expect(p).toMatchObject({ trigger: 'request', balance: 'off', power: 'off', grow: 'off', skipped: 'balance, power and grow automation are off', recommendations: [] });
    expect(decisions()).toEqual([]);
    expect(await migrations()).toEqual([]);
  });

  it('never plans a move onto a host in maintenance', async () => {
    await bed.client.waitJob((await bed.client.call('hostMaintenance', { params: { name: 'h2' }, body: {} })).id, undefined, 20);
    await set({ balance: 'automatic' });
    const p = await run();
    expect(p.recommendations).toEqual([]);
    expect(p.metrics.balance).toMatchObject({ imbalanceBefore: 0, moves: 0 });
    expect(await migrations()).toEqual([]);
    await bed.client.call('hostActivate', { params: { name: 'h2' }, body: {} });
  });

  let recommended: Recommendation;
  it('recommend: one recommendation event per action, with the planner\'s explanation, and no migration', async () => {
    await set({ balance: 'recommend' });
    const p = await run();
    expect(p.skipped).toBeUndefined();
    expect(p.recommendations).toHaveLength(1);
    recommended = p.recommendations[0]!;
    expect(recommended).toMatchObject({ goal: 'balance', level: 'recommend', state: 'recommended', wave: 0, action: { kind: 'migrate', from: ids.h1, to: ids.h2 } });
    const vm = names[(recommended.action as { vm: string }).vm]!;
    expect(recommended.summary).toBe(`migrate ${vm} from h1 to h2`);
    expect(recommended.reason).toMatch(new RegExp(`^balance: moving ${vm} from h1 \\(load 0\\.732 -> 0\\.488\\) to h2 \\(0 -> 0\\.244\\) lowers the imbalance 0\\.366 -> 0\\.122`));
    expect(recommended.numbers).toMatchObject({ memoryMiB: 1024, fromUtilBefore: 0.732, toUtilAfter: 0.244 });
    expect(p.metrics.balance).toMatchObject({ imbalanceBefore: 0.3662, moves: 1, automation: 1 });
    const d = decisions();
    expect(d.map((e) => [e.kind, e.resource])).toEqual([['recommendation', vm]]);
    expect(d[0]!.message).toBe(`recommend (balance): ${recommended.summary}; ${recommended.reason}`);
    expect(d[0]!.data).toEqual(recommended);
    expect(await bed.client.call('listRecommendations')).toEqual(p);
    expect(await migrations()).toEqual([]);
    expect(await migrateJobs()).toEqual([]);
  });

  it('power: recommends putting the empty host to standby; automatic puts it there through host standby', async () => {
    await set({ balance: 'off', power: 'recommend' });
    const r = await run();
    expect(r.recommendations.map((x) => [x.goal, x.summary, x.state])).toEqual([['power', 'standby h2', 'recommended']]);
    expect(r.recommendations[0]!.reason).toMatch(/^consolidate: h2 is empty; the 1 host\(s\) left on cover the peak demand/);
    expect((await bed.client.call('listHosts')).find((h) => h.name === 'h2')?.state).toBe('Ready');
    await set({ power: 'automatic' });
    events = [];
    const a = await run();
    expect(a.recommendations.map((x) => [x.summary, x.state, x.detail])).toEqual([['standby h2', 'done', 'host h2 is in Standby']]);
    expect((await bed.client.call('listHosts')).find((h) => h.name === 'h2')?.state).toBe('Standby');
    expect(decisions().map((e) => [e.kind, e.resource, e.message.split(';')[0]])).toEqual([['automation', 'h2', 'automatic (power): standby h2: done: host h2 is in Standby']]);
    expect(await migrations()).toEqual([]);
    await set({ power: 'off' });
    await bed.client.call('hostActivate', { params: { name: 'h2' }, body: {} });
  });

  it('a refused action is a failed outcome and an event; nothing starts', async () => {
    // h2 drops the image: the planner (which knows nothing of images) still picks it; the migration request refuses.
    const imageHosts = async () => (await bed.client.call('listImages')).find((i) => i.name === 'tiny')?.hosts ?? [];
    h2.images = [];
    await eventually(async () => !(await imageHosts()).includes(ids.h2!), 'h2 without the image');
    await set({ balance: 'automatic' });
    events = [];
    const p = await run();
    expect(p.recommendations.map((r) => [r.state, r.detail])).toEqual([['failed', expect.stringMatching(/host h2 cannot take VM web-\d: it does not hold image tiny/)]]);
    expect(decisions().map((e) => [e.kind, (e.data as Recommendation).state])).toEqual([['automation', 'failed']]);
    expect(decisions()[0]!.message).toMatch(/^automatic \(balance\): migrate web-\d from h1 to h2: failed: host h2 cannot take VM/);
    expect(await migrations()).toEqual([]);
    h2.images = [TINY];
    await eventually(async () => (await imageHosts()).includes(ids.h2!), 'h2 with the image again');
  });

  let started: Recommendation;
  it('automatic: starts the migration the planner chose, as drover vm migrate would, and records it with its ids', async () => {
    await set({ balance: 'automatic' });
    const p = await run();
    expect(p.recommendations).toHaveLength(1);
    started = p.recommendations[0]!;
    expect(started).toMatchObject({ goal: 'balance', level: 'automatic', state: 'started', migrationId: expect.stringMatching(/^mig-/), jobId: expect.any(String) });
    expect(started.action).toEqual(recommended.action);
    const action = started.action as { vm: string; from: string; to: string };
    const m = await bed.client.call('getMigration', { params: { id: started.migrationId! } });
    expect(m).toMatchObject({ vmId: action.vm, sourceHostId: ids.h1, targetHostId: action.to, source: 'h1', target: 'h2', jobId: started.jobId });
    expect(await bed.client.call('getJob', { params: { id: started.jobId! } })).toMatchObject({ kind: 'vm.migrate', target: names[action.vm] });
    expect((await bed.client.call('getVm', { params: { name: action.vm } })).migration).toMatchObject({ id: started.migrationId, targetHostId: ids.h2 });
    const d = decisions();
    expect(d.map((e) => [e.kind, e.resource])).toEqual([['automation', names[action.vm]]]);
    expect(d[0]!.message).toContain(`automatic (balance): ${started.summary}: started: migration ${started.migrationId} (job ${started.jobId}) started; balance: moving`);
    expect(d[0]!.data).toMatchObject({ migrationId: started.migrationId, reason: started.reason, numbers: started.numbers });
  });

  it('starts no new automatic pass while the migrations of the previous one run', async () => {
    const p = await run();
    expect(p.skipped).toBe(`1 migration(s) the previous automatic pass started are still running (${started.migrationId}); no new pass until they end`);
    expect(p.recommendations).toEqual([]);
    expect((await migrations()).map((m) => m.id)).toEqual([started.migrationId]);
    expect(decisions()).toEqual([]);
    // The latest decisions stay readable.
    expect((await bed.client.call('listRecommendations')).recommendations).toEqual([expect.objectContaining({ migrationId: started.migrationId })]);
  });

  it('never moves a VM in flight again: it counts on both hosts, and another VM is recommended instead', async () => {
    const moving = (started.action as { vm: string }).vm;
    const snap = await bed.client.call('getSnapshot');
    expect(snap.vms.find((v) => v.id === moving)).toMatchObject({ host: ids.h1, migratingTo: ids.h2 });
    await set({ balance: 'recommend' });
    const p: AutomationPass = await run();
    expect(p.recommendations).toHaveLength(1);
    const next = p.recommendations[0]!.action as { kind: string; vm: string; to: string };
    expect(next).toMatchObject({ kind: 'migrate', to: ids.h2 });
    expect(next.vm).not.toBe(moving);
    // h2 counts the incoming VM: 0.244 before the move, not 0.
    expect(p.recommendations[0]!.numbers).toMatchObject({ toUtilBefore: 0.244, toUtilAfter: 0.488 });
    expect((await migrations()).map((m) => m.id)).toEqual([started.migrationId]);
  });
});
