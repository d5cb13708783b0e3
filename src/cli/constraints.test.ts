// `drover host label|show`, the constraint flags of `drover vm create`,
// `drover vm set` and `drover group ...`, in-process against the fake controller.
import { beforeEach, describe, expect, it } from 'vitest';
import type { Group } from '../api/groups.js';
import { FakeApi, reply, useFakeApi } from './test-support/fake-api.js';
import { run, sampleHost, sampleJob, sampleVm } from './test-support/samples.js';

const AT = '2024-01-01T00:00:00.000Z';
const group = (over: Partial<Group> = {}): Group => ({ name: 'web', kind: 'anti-affinity', strength: 'must', vms: ['web', 'db'], vmIds: ['vm-1', 'vm-2'], violations: [], createdAt: AT, updatedAt: AT, ...over });

describe('drover constraints: host labels, vm create/set, groups', () => {
  let api: FakeApi;
  let env: Record<string, string>;
  useFakeApi((a, e) => ([api, env] = [a, e]));
  beforeEach(() => {
    api.on('listHosts', () => [sampleHost({ labels: { zone: 'a', rack: 'r1' } })]);
    api.on('getHost', () => sampleHost({ labels: { zone: 'a' }, usage: { cpus: 2, memoryMiB: 256, vms: 1, activeVms: 1 } }));
    api.on('listVms', () => [sampleVm()]);
    api.on('listGroups', () => [group()]);
    api.on('setHostLabels', (req) => sampleHost({ labels: { zone: 'b' }, ...(req.body as object) }));
  });

  it('labels a host: key=value arguments set, --remove removes; prints the labels', async () => {
    api.on('setHostLabels', () => sampleHost({ labels: { disk: 'ssd', zone: 'b' } }));
    const r = await run(['host', 'label', 'h0', 'zone=b', 'disk=ssd', '--remove', 'rack', '--remove', 'old,older'], { env });
    expect(r.code, r.stderr).toBe(0);
    expect(api.requests.map((q) => [q.route, q.method, q.params, q.body])).toEqual([['setHostLabels', 'PUT', { name: 'h0' }, { set: { zone: 'b', disk: 'ssd' }, remove: ['rack', 'old', 'older'] }]]);
    expect(r.stdout).toBe('Host h0 labels: disk=ssd,zone=b\n');
  });

  it('refuses bad labels before sending anything, naming what is wrong (exit 2)', async () => {
    const cases: Array<[string[], RegExp]> = [
      [['host', 'label', 'h0', 'zone'], /error: LABEL "zone" is not a label; give it as key=value\n {2}field: LABEL\n/],
      [['host', 'label', 'h0', 'Zone=a'], /label key "Zone" is not valid: use 1-63 lowercase letters/],
      [['host', 'label', 'h0', 'zone=a b'], /the value "a b" of label zone is not valid/],
      [['host', 'label', 'h0', 'zone=a', '--remove', 'zone'], /label zone is both set and removed\n {2}field: --remove/],
      [['host', 'label', 'h0'], /nothing to change/],
    ];
    for (const [argv, message] of cases) {
      const r = await run(argv, { env });
      expect(r.code, argv.join(' ')).toBe(2);
      expect(r.stderr, argv.join(' ')).toMatch(message);
    }
    expect(api.count()).toBe(0);
  });

  it('lists hosts with their labels, and shows one host with its VMs', async () => {
    const list = await run(['host', 'list'], { env });
    expect(list.stdout).toMatch(/AGENT\s+LABELS\n/);
    expect(list.stdout).toMatch(/http:\/\/127\.0\.0\.1:7481\s+rack=r1,zone=a\n/);
    const show = await run(['host', 'show', 'h0'], { env });
    expect(show.code, show.stderr).toBe(0);
    expect(show.stdout).toMatch(/Labels:\s+zone=a\n/);
    expect(show.stdout).toMatch(/CPUs:\s+2\/2\n/);
    expect(show.stdout).toContain('VMs:\n  web (Running, 2 vCPU, 256 MiB)');
  });

  it('creates a VM with HA, host rules and groups', async () => {
    api.on('createVm', () => ({ vm: sampleVm({ phase: 'Pending' }), job: sampleJob() }));
    const r = await run(['vm', 'create', 'web', '--ha', '--ha-priority', '-5', '--host-rule', 'zone=a,rack=r1', '--host-rule', 'disk=ssd:should', '--group', 'web', '--group', 'web', '--no-wait'], { env });
    expect(r.code, r.stderr).toBe(0);
    expect(api.requests.find((q) => q.route === 'createVm')?.body).toEqual({
      name: 'web', image: 'tiny', start: true, ha: true, haPriority: -5, groups: ['web'],
      hostRules: [{ labels: { zone: 'a', rack: 'r1' }, strength: 'must' }, { labels: { disk: 'ssd' }, strength: 'should' }],
    });
  });

  it('refuses bad constraint flags of vm create before sending anything (exit 2)', async () => {
    for (const [argv, message] of [
      [['--host-rule', 'zone'], /--host-rule "zone" is not a label; give it as key=value/],
      [['--host-rule', 'zone=a:maybe'], /ends in ":maybe"; the strength is must or should/],
      [['--host-rule', 'zone=a,zone=b'], /names label zone twice/],
      [['--ha-priority', '5000'], /--ha-priority "5000" is not a whole number from -1000 to 1000/],
      [['--group', 'Web_1'], /is not a valid name/],
    ] as Array<[string[], RegExp]>) {
      const r = await run(['vm', 'create', 'web', ...argv], { env });
      expect(r.code, argv.join(' ')).toBe(2);
      expect(r.stderr, argv.join(' ')).toMatch(message);
    }
    expect(api.count()).toBe(0);
  });

  it('vm set sends only what changes; --host-rule replaces, --clear-host-rules clears; a broken must rule is pointed out', async () => {
    api.on('updateVm', () => sampleVm({ spec: { ...sampleVm().spec, ha: false, haPriority: 3, hostRules: [{ labels: { zone: 'z9' }, strength: 'must' }] } }));
    const r = await run(['vm', 'set', 'web', '--no-ha', '--ha-priority', '3', '--host-rule', 'zone=z9'], { env });
    expect(r.code, r.stderr).toBe(0);
    expect(api.requests.find((q) => q.route === 'updateVm')).toMatchObject({ method: 'PATCH', params: { name: 'web' }, body: { ha: false, haPriority: 3, hostRules: [{ labels: { zone: 'z9' }, strength: 'must' }] } });
    expect(r.stdout).toBe('VM web on h0: HA off (priority 3); host rules zone=z9 (must)\nnote: its host h0 does not carry zone=z9; it stays there until it moves (drover vm migrate web puts it where its rules hold)\n');
    api.requests.length = 0;
    api.on('updateVm', () => sampleVm({ spec: { ...sampleVm().spec, ha: true } }));
    const clear = await run(['vm', 'set', 'web', '--ha', '--clear-host-rules'], { env });
    expect(clear.stdout).toBe('VM web on h0: HA on, priority 0; host rules none\n');
    expect(api.requests.find((q) => q.route === 'updateVm')?.body).toEqual({ ha: true, hostRules: [] });
  });

  it('vm set refuses nothing to change and contradictions (exit 2); the controller\'s refusal is exit 1', async () => {
    expect((await run(['vm', 'set', 'web'], { env })).stderr).toMatch(/nothing to change\n {2}field: --ha\n {2}allowed: at least one of --ha, --no-ha/);
    expect((await run(['vm', 'set', 'web', '--host-rule', 'a=b', '--clear-host-rules'], { env })).code).toBe(2);
    expect(api.count()).toBe(0);
    api.on('updateVm', () => reply(400, { error: { code: 'invalid', message: 'hostRules[0].labels: a host rule names at least one label', field: 'hostRules[0].labels' } }));
    const r = await run(['vm', 'set', 'web', '--ha'], { env });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('field: hostRules[0].labels');
  });

  it('vm show tells HA, host rules and groups', async () => {
    api.on('getVm', () => sampleVm({ spec: { ...sampleVm().spec, ha: true, haPriority: 7, hostRules: [{ labels: { zone: 'a' }, strength: 'must' }, { labels: { disk: 'ssd' }, strength: 'should' }] } }));
    api.on('listVolumes', () => []);
    const r = await run(['vm', 'show', 'web'], { env });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/HA:\s+on, priority 7\n/);
    expect(r.stdout).toMatch(/Host rules:\s+zone=a \(must\), disk=ssd \(should\)\n/);
    expect(r.stdout).toMatch(/Groups:\s+web \(must anti-affinity\)\n/);
  });

  it('creates a group, and warns when its VMs break it already', async () => {
    api.on('createGroup', () => group({ violations: ['web and db share host h0'] }));
    const r = await run(['group', 'create', 'web', '--kind', 'Anti-Affinity', 'web', 'db'], { env });
    expect(r.code, r.stderr).toBe(0);
    expect(api.requests.map((q) => [q.route, q.method, q.body])).toEqual([['createGroup', 'POST', { name: 'web', kind: 'anti-affinity', strength: 'must', vms: ['web', 'db'] }]]);
    expect(r.stdout).toBe([
      'Group web (must anti-affinity) created: web, db',
      'warning: the VMs break must anti-affinity group web now: web and db share host h0',
      '  placement and moves keep it from now on; `drover vm migrate VM` moves one of them where the group holds',
      '',
    ].join('\n'));
  });

  it('refuses a bad or missing kind and strength (exit 2)', async () => {
    expect((await run(['group', 'create', 'web', '--kind', 'together'], { env })).stderr).toMatch(/--kind "together" is not one of affinity, anti-affinity/);
    expect((await run(['group', 'create', 'web', '--kind', 'affinity', '--strength', 'maybe'], { env })).code).toBe(2);
    expect((await run(['group', 'create', 'web'], { env })).code).toBe(2);
    expect(api.count()).toBe(0);
  });

  it('adds and removes VMs, lists, shows and deletes groups', async () => {
    api.on('changeGroupMembers', () => group({ vms: ['web', 'db', 'cache'] }));
    const add = await run(['group', 'add', 'web', 'cache'], { env });
    expect(add.stdout).toBe('Group web (must anti-affinity): web, db, cache\n');
    await run(['group', 'remove', 'web', 'db', 'cache'], { env });
    expect(api.requests.filter((q) => q.route === 'changeGroupMembers').map((q) => q.body)).toEqual([{ add: ['cache'] }, { remove: ['db', 'cache'] }]);
    api.on('listGroups', () => [group(), group({ name: 'pair', kind: 'affinity', strength: 'should', vms: [], vmIds: [], violations: [] }), group({ name: 'bad', violations: ['web and db share host h0'] })]);
    const list = await run(['group', 'list'], { env });
    expect(list.stdout).toMatch(/^NAME\s+KIND\s+STRENGTH\s+VMS\s+STATUS\nweb\s+anti-affinity\s+must\s+web,db\s+ok\npair\s+affinity\s+should\s+-\s+ok\nbad\s+anti-affinity\s+must\s+web,db\s+broken: web and db share host h0\n$/);
    api.on('getGroup', () => group());
    expect((await run(['group', 'show', 'web'], { env })).stdout).toMatch(/Kind:\s+anti-affinity\nStrength:\s+must\nVMs:\s+web, db\nStatus:\s+ok/);
    api.on('deleteGroup', () => group());
    const del = await run(['group', 'delete', 'web'], { env });
    expect(del.stdout).toBe('Group web deleted; its VMs (web, db) stay where they are\n');
    expect(api.requests.find((q) => q.route === 'deleteGroup')).toMatchObject({ method: 'DELETE', params: { name: 'web' } });
  });
});
