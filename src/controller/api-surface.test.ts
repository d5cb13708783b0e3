// The HTTP surface: auth on every route, the OpenAPI document, agent join.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DroverClient } from '../api/client.js';
import { ApiError } from '../api/errors.js';
import { fillPath, routes, type RouteName } from '../api/routes.js';
import { INVENTORY } from './test-support/fake-agent.js';
import { startTestBed, type TestBed } from './test-support/harness.js';

describe('controller API surface', () => {
  let bed: TestBed;
  beforeAll(async () => {
    bed = await startTestBed();
  });
  afterAll(async () => {
    await bed?.stop();
  });

  const protectedRoutes = (Object.keys(routes) as RouteName[]).filter((n) => routes[n].auth !== 'join');

  it('refuses every route without a token, and with a wrong one (401)', async () => {
    for (const name of protectedRoutes) {
      const def = routes[name];
      const url = new URL(fillPath(def.path, { name: 'x', id: 'x' }), bed.ctl.url);
      for (const headers of [{}, { authorization: 'Bearer wrong' }] as Record<string, string>[]) {
        const withBody = def.method === 'POST' || def.method === 'PUT';
        const res = await fetch(url, { method: def.method, headers: { ...headers, ...(withBody ? { 'content-type': 'application/json' } : {}) }, body: withBody ? '{}' : undefined });
        expect(res.status, `${name} ${JSON.stringify(headers)}`).toBe(401);
        expect(((await res.json()) as { error: { code: string } }).error.code).toBe('unauthorized');
      }
    }
  });

  it('does not take the admin token for agent routes, nor an agent credential for admin routes', async () => {
    await expect(bed.client.call('agentAssignments')).rejects.toMatchObject({ code: 'unauthorized' });
    await expect(bed.agent.client().call('listVms')).rejects.toMatchObject({ code: 'unauthorized' });
  });

  it('serves an OpenAPI document without auth that lists every route', async () => {
    const res = await fetch(new URL('/openapi.json', bed.ctl.url));
    expect(res.status).toBe(200);
    const doc = (await res.json()) as { openapi: string; paths: Record<string, Record<string, { operationId?: string; summary?: string }>> };
    expect(doc.openapi).toMatch(/^3\./);
    for (const [name, def] of Object.entries(routes)) {
      const path = def.path.replace(/:(\w+)/g, '{$1}');
      const op = doc.paths[path]?.[def.method.toLowerCase()];
      expect(op, `${def.method} ${path}`).toBeDefined();
      expect(op?.operationId).toBe(name);
      expect(op?.summary).toBe(def.summary);
    }
  });

  it('refuses a join with the wrong token, naming the field, and adds no host', async () => {
    const anon = new DroverClient({ baseUrl: bed.ctl.url, token: '' });
    const before = await bed.client.call('listHosts');
    const err = await anon.call('agentJoin', { body: { joinToken: 'nope', name: 'intruder', agentUrl: 'http://127.0.0.1:1', inventory: INVENTORY } }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ApiError);
    expect(err).toMatchObject({ code: 'unauthorized', field: 'joinToken' });
    expect(await bed.client.call('listHosts')).toEqual(before);
  });

  it('gives a joined agent a credential that works for agent routes; the host turns Ready on its first report', async () => {
    expect(bed.agent.credential.startsWith(`${bed.agent.hostId}.`)).toBe(true);
    const hosts = await bed.client.call('listHosts');
    expect(hosts).toMatchObject([{ id: bed.agent.hostId, name: 'h1', state: 'Ready', agentUrl: bed.agent.url, inventory: INVENTORY }]);
    expect(JSON.stringify(hosts)).not.toContain('credential');
    const a = await bed.agent.assignments();
    expect(a).toEqual({ revision: expect.any(Number), vms: [] });
  });

  it('a re-join under the same name keeps the host id and retires the old credential', async () => {
    const old = bed.agent.credential;
    const oldId = bed.agent.hostId;
    await bed.agent.join(bed.ctl.secrets.joinToken, 'h1');
    expect(bed.agent.hostId).toBe(oldId);
    expect(bed.agent.credential).not.toBe(old);
    const stale = new DroverClient({ baseUrl: bed.ctl.url, token: old });
    await expect(stale.call('agentAssignments')).rejects.toMatchObject({ code: 'unauthorized' });
    await bed.agent.report();
    expect((await bed.client.call('listHosts')).map((h) => h.state)).toEqual(['Ready']);
  });

  it('answers unknown endpoints and bad JSON in the error shape', async () => {
    const res = await fetch(new URL('/v1/nothing', bed.ctl.url), { headers: { authorization: `Bearer ${bed.ctl.secrets.adminToken}` } });
    expect(res.status).toBe(404);
    expect(await res.json()).toMatchObject({ error: { code: 'not_found' } });
    const bad = await fetch(new URL('/v1/vms', bed.ctl.url), { method: 'POST', headers: { authorization: `Bearer ${bed.ctl.secrets.adminToken}`, 'content-type': 'application/json' }, body: '{nope' });
    expect(bad.status).toBe(400);
    expect(await bad.json()).toMatchObject({ error: { code: 'invalid' } });
  });
});
