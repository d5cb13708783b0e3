// Constraints on a live cluster, against a real controller (real SQLite
// store, real HTTP API) and fake agents: host labels, VM host rules, groups,
// the VM placement settings, and how placement, migration targets and
// maintenance honour them. One scenario, in order.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CreateVmRequest } from '../api/requests.js';
import { FakeAgent } from './test-support/fake-agent.js';
import { eventually, startTestBed, type TestBed, joinAgent } from './test-support/harness.js';
import { KIND, type GroupRecord } from './records.js';

describe('constraints on a live cluster', () => {
  let bed: TestBed;
  let h2: FakeAgent;
  let h3: FakeAgent | undefined;
  const errorOf = <T>(p: Promise<T>) => p.then(() => undefined, (e: unknown) => e as Error & { code: string; field?: string });
  const create = async (body: CreateVmRequest) => {
    const { vm, job } = await bed.client.call('createVm', { body });
    await bed.client.waitJob(job.id, undefined, 20);
    return vm;
  };
  const hostOf = async (vm: string) => {
    const [v, hosts] = await Promise.all([bed.client.call('getVm', { params: { name: vm } }), bed.client.call('listHosts')]);
    return hosts.find((h) => h.id === v.hostId)?.name;
  };
  const labels = async (host: string) => (await bed.client.call('getHost', { params: { name: host } })).labels;
  const setLabels = (name: string, body: { set?: Record<string, string>; remove?: string[] }) => bed.client.call('setHostLabels', { params: { name }, body });
  const vmNames = async () => (await bed.client.call('listVms')).map((v) => v.name).sort();

  beforeAll(async () => {
    bed = await startTestBed();
    bed.agent.converge();
    h2 = await joinAgent(bed, 'h2');
    h2.converge();
  });
  afterAll(async () => {
    await h3?.stop();
    await h2?.stop();
    await bed?.stop();
  });

  it('labels: set, shown, changed and removed; a re-join keeps them', async () => {
    expect(await setLabels('h1', { set: { zone: 'z0', rack: 'r1' } })).toMatchObject({ name: 'h1', labels: { rack: 'r1', zone: 'z0' } });
    expect(await setLabels('h1', { set: { zone: 'z2' }, remove: ['rack', 'nosuch'] })).toMatchObject({ labels: { zone: 'z2' } });
    expect((await bed.client.call('listHosts')).find((h) => h.name === 'h1')?.labels).toEqual({ zone: 'z2' });
    await bed.agent.join(bed.ctl.secrets.joinToken, 'h1');
    await bed.agent.report();
    expect(await labels('h1')).toEqual({ zone: 'z2' });
    expect((await setLabels('h1', { remove: ['zone'] })).labels).toBeUndefined();
  });

  const badLabels: Array<{ body: { set?: Record<string, string>; remove?: string[] }; field: string; message: RegExp }> = [
    { body: { set: { 'Bad Key': 'x' } }, field: 'set', message: /label key "Bad Key" is not valid: use 1-63 lowercase letters/ },
    { body: { set: { zone: 'a b' } }, field: 'set.zone', message: /the value "a b" of label zone is not valid: use 1-63 letters, digits/ },
    { body: { set: { zone: '' } }, field: 'set.zone', message: /the value "" of label zone is not valid/ },
    { body: { set: { 'drover.internal/x': 'y' } }, field: 'set', message: /is reserved/ },
    { body: { set: { ok: 'yes' }, remove: ['ok'] }, field: 'remove[0]', message: /label ok is both set and removed/ },
    { body: { remove: ['UPPER'] }, field: 'remove[0]', message: /label key "UPPER" is not valid/ },
    { body: {}, field: 'set', message: /nothing to change/ },
  ];
  for (const b of badLabels) {
    it(`refuses labels ${JSON.stringify(b.body)}, naming ${b.field}, and changes nothing`, async () => {
      await setLabels('h1', { set: { keep: 'me' } });
      const err = await errorOf(setLabels('h1', b.body));
      expect(err).toMatchObject({ code: 'invalid', field: b.field });
      expect(err?.message).toMatch(b.message);
      expect(await labels('h1')).toEqual({ keep: 'me' });
    });
  }

  it('a must host rule places a VM only on a labelled host; no labelled host, no VM', async () => {
    await setLabels('h2', { set: { zone: 'z1' } });
    await create({ name: 'filler', image: 'tiny', host: 'h2', memoryMiB: 1024 });
    // Spreading alone would pick the empty h1.
    await create({ name: 'pinned', image: 'tiny', hostRules: [{ labels: { zone: 'z1' } }] });
    expect(await hostOf('pinned')).toBe('h2');
    expect((await bed.client.call('getVm', { params: { name: 'pinned' } })).spec).toMatchObject({ ha: false, haPriority: 0, hostRules: [{ labels: { zone: 'z1' }, strength: 'must' }] });
    const before = await vmNames();
    const err = await errorOf(create({ name: 'nowhere', image: 'tiny', hostRules: [{ labels: { zone: 'z9' } }] }));
    expect(err).toMatchObject({ code: 'conflict', field: 'hostRules' });
    expect(err?.message).toMatch(/^no host can take the VM under its constraints \((h1, h2|h2, h1): host labels do not match its must host rule\(s\) zone=z9\)$/);
    expect(await vmNames()).toEqual(before);
  });

  it('migrate --to a host without the label is refused with the reason; without --to no host is left', async () => {
    const err = await errorOf(bed.client.call('migrateVm', { params: { name: 'pinned' }, body: { to: 'h1' } }));
    expect(err).toMatchObject({ code: 'conflict', field: 'to', message: 'host h1 cannot take VM pinned: host labels do not match its must host rule(s) zone=z1' });
    const auto = await errorOf(bed.client.call('migrateVm', { params: { name: 'pinned' }, body: {} }));
    expect(auto).toMatchObject({ code: 'conflict', field: 'to' });
    expect(auto?.message).toContain('h2: it is the VM\'s current host');
    expect(auto?.message).toContain('h1: host labels do not match its must host rule(s) zone=z1');
    expect(await bed.client.call('listMigrations')).toEqual([]);
  });

  it('a must anti-affinity group places two VMs on different hosts and refuses a third, naming the group', async () => {
    expect(await bed.client.call('createGroup', { body: { name: 'web', kind: 'anti-affinity', strength: 'must' } })).toMatchObject({ name: 'web', vms: [], violations: [] });
    await create({ name: 'a', image: 'tiny', groups: ['web'] });
    await create({ name: 'b', image: 'tiny', groups: ['web'] });
    const [ha, hb] = [await hostOf('a'), await hostOf('b')];
    // a went to the emptier h1, b to h2 (spreading alone would have put it on h1 too).
    expect([ha, hb]).toEqual(['h1', 'h2']);
    const before = await vmNames();
    const err = await errorOf(create({ name: 'c', image: 'tiny', groups: ['web'] }));
    expect(err).toMatchObject({ code: 'conflict', field: 'groups' });
    expect(err?.message).toMatch(/^no host can take the VM under its constraints \((h1, h2|h2, h1): already runs a VM of must-anti-affinity group web\)$/);
    expect(await vmNames()).toEqual(before);
    expect(await bed.client.call('getGroup', { params: { name: 'web' } })).toMatchObject({ vms: ['a', 'b'], violations: [] });
    const move = await errorOf(bed.client.call('migrateVm', { params: { name: 'a' }, body: { to: hb! } }));
    expect(move).toMatchObject({ code: 'conflict', field: 'to', message: `host ${hb} cannot take VM a: already runs a VM of must-anti-affinity group web` });
    const unknown = await errorOf(create({ name: 'd', image: 'tiny', groups: ['nosuch'] }));
    expect(unknown).toMatchObject({ code: 'not_found', field: 'groups[0]' });
  });

  it('groups: create (members that break it already are reported), add, remove, list, delete', async () => {
    const g = await bed.client.call('createGroup', { body: { name: 'apart', kind: 'anti-affinity', vms: ['pinned', 'filler'] } });
    expect(g).toMatchObject({ name: 'apart', kind: 'anti-affinity', strength: 'must', vms: ['pinned', 'filler'], violations: ['pinned and filler share host h2'] });
    // The balancer recommends the move that mends it (pinned must stay on h2: filler moves).
    const pass = await bed.client.call('runAutomation', { body: {} });
    expect(pass.recommendations.map((r) => [r.summary, r.state])).toEqual([['migrate filler from h2 to h1', 'recommended']]);
    expect(pass.recommendations[0]!.reason).toBe('repair: filler shares h2 with another VM of must-anti-affinity group apart; h1 keeps every must rule');
    expect(await bed.client.call('listMigrations')).toEqual([]);
    expect(await errorOf(bed.client.call('createGroup', { body: { name: 'apart', kind: 'affinity' } }))).toMatchObject({ code: 'conflict', field: 'name' });
    expect(await errorOf(bed.client.call('createGroup', { body: { name: 'x', kind: 'together' as 'affinity' } }))).toMatchObject({ code: 'invalid', field: 'kind' });
    expect(await errorOf(bed.client.call('createGroup', { body: { name: 'x', kind: 'affinity', vms: ['a', 'ghost'] } }))).toMatchObject({ code: 'not_found', field: 'vms[1]' });
    expect((await bed.client.call('listGroups')).map((x) => x.name)).toEqual(['apart', 'web']);
    const added = await bed.client.call('changeGroupMembers', { params: { name: 'apart' }, body: { add: ['a'], remove: ['filler'] } });
    expect(added).toMatchObject({ vms: ['pinned', 'a'] });
    expect(await errorOf(bed.client.call('changeGroupMembers', { params: { name: 'apart' }, body: { remove: ['b'] } }))).toMatchObject({ code: 'invalid', field: 'remove[0]', message: expect.stringMatching(/VM b is not in group apart/) });
    expect(await errorOf(bed.client.call('changeGroupMembers', { params: { name: 'apart' }, body: { add: ['b'], remove: ['b'] } }))).toMatchObject({ code: 'invalid', field: 'remove[0]' });
    expect((await bed.client.call('getGroup', { params: { name: 'apart' } })).vms).toEqual(['pinned', 'a']);
    expect(await bed.client.call('deleteGroup', { params: { name: 'apart' } })).toMatchObject({ name: 'apart' });
    expect(await errorOf(bed.client.call('getGroup', { params: { name: 'apart' } }))).toMatchObject({ code: 'not_found', field: 'name' });
  });

  it('ha, priority and host rules change later; bad input changes nothing; the snapshot carries every constraint', async () => {
    const v = await bed.client.call('updateVm', { params: { name: 'a' }, body: { ha: true, haPriority: 5, hostRules: [{ labels: { zone: 'z1' }, strength: 'should' }] } });
    expect(v.spec).toMatchObject({ ha: true, haPriority: 5, hostRules: [{ labels: { zone: 'z1' }, strength: 'should' }] });
    const before = (await bed.client.call('getVm', { params: { name: 'a' } })).spec;
    for (const [body, field] of [
      [{ hostRules: [{ labels: {} }] }, 'hostRules[0].labels'],
      [{ hostRules: [{ labels: { zone: 'no way' } }] }, 'hostRules[0].labels.zone'],
      [{ haPriority: 5000 }, 'haPriority'],
      [{ cpus: 4 }, 'cpus'],
      [{}, 'ha'],
    ] as const) {
      expect(await errorOf(bed.client.call('updateVm', { params: { name: 'a' }, body: body as object }))).toMatchObject({ code: 'invalid', field });
    }
    expect((await bed.client.call('getVm', { params: { name: 'a' } })).spec).toEqual(before);
    const snap = await bed.client.call('getSnapshot');
    const ids = Object.fromEntries((await bed.client.call('listVms')).map((x) => [x.name, x.id]));
    expect(snap.hosts.find((h) => h.name === 'h2')?.labels).toEqual({ zone: 'z1' });
    expect(snap.vms.find((x) => x.name === 'a')).toMatchObject({ ha: true, priority: 5, hostRules: [{ labels: { zone: 'z1' }, strength: 'should' }], groups: ['web'] });
    expect(snap.vms.find((x) => x.name === 'pinned')).toMatchObject({ hostRules: [{ labels: { zone: 'z1' }, strength: 'must' }] });
    expect(snap.groups).toEqual([{ id: 'web', kind: 'anti-affinity', strength: 'must', vms: [ids.a, ids.b] }]);
    // The agents are told the HA flag (their fencer guards HA VMs), nothing else of placement settings.
    const agent = (await bed.agent.assignments()).vms.concat((await h2.assignments()).vms).find((x) => x.name === 'a')!;
    expect(agent.spec).toMatchObject({ ha: true });
    expect(agent.spec).not.toHaveProperty('haPriority');
    expect(agent.spec).not.toHaveProperty('hostRules');
    expect((await bed.client.call('updateVm', { params: { name: 'a' }, body: { ha: false, hostRules: [] } })).spec).toMatchObject({ ha: false, haPriority: 5 });
    expect((await bed.client.call('getVm', { params: { name: 'a' } })).spec.hostRules).toBeUndefined();
  });

  it('a deleted VM leaves its groups', async () => {
    const b = await bed.client.call('getVm', { params: { name: 'b' } });
    await bed.client.waitJob((await bed.client.call('deleteVm', { params: { name: 'b' } })).job.id, undefined, 20);
    expect(await bed.client.call('getGroup', { params: { name: 'web' } })).toMatchObject({ vms: ['a'] });
    const stored = await bed.ctl.ctx.state.store.get<GroupRecord>(KIND.group, 'web');
    expect(stored?.data.vmIds).not.toContain(b.id);
    expect(stored?.data.vmIds).toHaveLength(1);
  });

  it('maintenance: a VM no other host may take is not moved, with the reason, in the outcome lines', async () => {
    await bed.client.waitJob((await bed.client.call('stopVm', { params: { name: 'filler' }, body: {} })).job.id, undefined, 20);
    const job = await bed.client.call('hostMaintenance', { params: { name: 'h2' }, body: {} });
    const err = await errorOf(bed.client.waitJob(job.id, undefined, 20));
    expect(err).toMatchObject({ code: 'conflict' });
    const done = await bed.client.call('getJob', { params: { id: job.id } });
    const lines = done.progress?.message?.split('; ') ?? [];
    expect(lines).toContain('filler: not moved, it is Stopped (only running VMs are live-migrated)');
    const pinned = lines.find((l) => l.startsWith('pinned: '));
    expect(pinned).toMatch(/^pinned: not moved, no host can take it: /);
    expect(pinned?.split(': not moved, no host can take it: ')[1]?.split(' | ').sort()).toEqual(['h1: host labels do not match its must host rule(s) zone=z1', 'h2: the host being emptied']);
    expect(lines).toHaveLength(2);
    await bed.client.call('hostActivate', { params: { name: 'h2' }, body: {} });
  });

  it('maintenance: the evacuation keeps a must anti-affinity group apart, even when the emptier host breaks it', async () => {
    h3 = await joinAgent(bed, 'h3');
    h3.converge();
    await bed.client.call('createGroup', { body: { name: 'pair', kind: 'anti-affinity' } });
    await create({ name: 's1', image: 'tiny', host: 'h1', groups: ['pair'] });
    await create({ name: 's2', image: 'tiny', host: 'h2', groups: ['pair'] });
    const heavy = await create({ name: 'heavy', image: 'tiny', host: 'h3', memoryMiB: 3000 });
    h3.override.set(heavy.id, { stats: { cpuSeconds: 1, rssBytes: 2900 * 1024 ** 2 } });
    await eventually(async () => (await bed.client.call('getSnapshot')).vms.find((v) => v.name === 'heavy')?.memoryUsageMiB === 2900, 'the usage of heavy in the snapshot');
    await bed.client.call('hostMaintenance', { params: { name: 'h1' }, body: {} });
    const ids = Object.fromEntries((await bed.client.call('listHosts')).map((h) => [h.name, h.id]));
    const migrations = await (async () => {
      for (let i = 0; i < 200; i++) {
        const m = await bed.client.call('listMigrations');
        if (m.some((x) => x.vm === 's1')) return m;
        await new Promise((r) => setTimeout(r, 50));
      }
      throw new Error('no migration of s1 started');
    })();
    // h2 is far emptier (the spreading choice), but it runs s2 of the same group.
    expect(migrations.find((m) => m.vm === 's1')).toMatchObject({ source: 'h1', target: 'h3', targetHostId: ids.h3 });
  });
});
