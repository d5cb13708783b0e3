// `drover host join`: the agent's command line it starts (flags passed
// through), and bad flags refused before anything is called or started;
// `drover testbed up --cgroups` likewise.
import { describe, expect, it } from 'vitest';
import { agentArgs } from './commands/host-join.js';
import { UsageError } from './output.js';
import { FakeApi, useFakeApi } from './test-support/fake-api.js';
import { run } from './test-support/samples.js';

const BASE = ['--controller', 'http://127.0.0.1:7000', '--name', 'h9', '--state-dir', '/tmp/h9'];

describe('agentArgs (drover host join)', () => {
  it('passes the flags given through to the agent, and only those', () => {
    expect(agentArgs('http://127.0.0.1:7000', 'h9', '/tmp/h9', {})).toEqual(BASE);
    expect(agentArgs('http://127.0.0.1:7000', 'h9', '/tmp/h9', { cgroups: 'own', reserveMemory: '1024', ksm: true, balloon: true, sharedPool: '/srv/pool' })).toEqual([
      ...BASE, '--shared-pool', '/srv/pool', '--reserve-memory', '1024', '--cgroups', 'own', '--ksm', '--balloon',
    ]);
    for (const mode of ['root', 'own', 'off']) expect(agentArgs('http://x', 'h', '/d', { cgroups: mode })).toContain(mode);
  });

  it('refuses a --cgroups that is not root, own or off', () => {
    expect(() => agentArgs('http://x', 'h', '/d', { cgroups: 'v2' })).toThrow(UsageError);
    expect(() => agentArgs('http://x', 'h', '/d', { cgroups: 'v2' })).toThrow(expect.objectContaining({ field: '--cgroups', allowed: 'root, own or off' }));
  });
});

describe('drover host join --cgroups', () => {
  let api: FakeApi;
  let env: Record<string, string>;
  useFakeApi((a, e) => ([api, env] = [a, e]));

  it('refuses a bad --cgroups with exit 2, before asking the controller anything or starting an agent', async () => {
    const r = await run(['host', 'join', 'h9', '--cgroups', 'v2', '--state-dir', '/nonexistent/drover-h9'], { env });
    expect(r.code).toBe(2);
    expect(r.stderr).toBe('error: --cgroups "v2" is not a place for VM cgroups\n  field: --cgroups\n  allowed: root, own or off\n');
    expect(api.count()).toBe(0);
  });

  it('drover testbed up refuses a bad --cgroups the same way, before starting anything', async () => {
    const r = await run(['testbed', 'up', '--hosts', '1', '--cgroups', 'v2', '--dir', '/nonexistent/drover-tb'], { env });
    expect(r.code).toBe(2);
    expect(r.stderr).toBe('error: --cgroups "v2" is not a place for VM cgroups\n  field: --cgroups\n  allowed: root, own or off\n');
    expect((await run(['testbed', 'up', '--help'], { env })).stdout).toContain('--cgroups <where>');
  });

  it('explains --cgroups in its help', async () => {
    const help = (await run(['host', 'join', '--help'], { env })).stdout;
    expect(help).toContain('--cgroups <where>');
    expect(help.replace(/\s+/g, ' ')).toContain("own (below the agent's own cgroup: containers, delegated or confined hosts) or off");
  });
});
