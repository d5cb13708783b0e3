import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { backoff, ControllerError, ControllerLink, isTransient, isUnauthorized, retryTransient } from './controller-link.js';

describe('ControllerLink', () => {
  let server: Server;
  let url = '';
  const seen: { method?: string; url?: string; auth?: string; body: string }[] = [];
  let status = 200;

  beforeAll(async () => {
    server = createServer(async (req, res) => {
      let body = '';
      for await (const c of req) body += String(c);
      seen.push({ method: req.method, url: req.url, auth: req.headers.authorization, body });
      res.writeHead(status, { 'content-type': 'application/json' });
      if (status === 401) return res.end(JSON.stringify({ error: { code: 'unauthorized', message: 'wrong join token', field: 'joinToken' } }));
      res.end(req.url?.startsWith('/v1/agent/assignments') ? JSON.stringify({ revision: 7, vms: [] }) : JSON.stringify({ ok: true }));
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => server.close());

  it('long-polls assignments with since and waitMs and the bearer credential', async () => {
    const link = new ControllerLink(url);
    link.credential = 'cred';
    expect(await link.assignments(3, 100)).toEqual({ revision: 7, vms: [] });
    expect(seen.at(-1)).toMatchObject({ method: 'GET', url: '/v1/agent/assignments?since=3&waitMs=100', auth: 'Bearer cred' });
  });

  it('turns an error answer into a ControllerError with the message and field', async () => {
    status = 401;
    const err = await new ControllerLink(url).report({ inventory: {} as never, vms: [], images: [] }).catch((e: unknown) => e);
    status = 200;
    expect(err).toBeInstanceOf(ControllerError);
    expect(err).toMatchObject({ status: 401, message: 'wrong join token', field: 'joinToken' });
    expect(isUnauthorized(err)).toBe(true);
    expect(isTransient(err)).toBe(false);
  });

  it('treats a controller that is down as transient', async () => {
    const err = await new ControllerLink('http://127.0.0.1:1').assignments(undefined, 10).catch((e: unknown) => e);
    expect(isTransient(err)).toBe(true);
  });
});

describe('retry', () => {
  it('backs off exponentially up to a cap', () => {
    const b = backoff(100, 500);
    expect([b.next(), b.next(), b.next(), b.next()]).toEqual([100, 200, 400, 500]);
    b.reset();
    expect(b.next()).toBe(100);
  });
  it('retries transient failures and rethrows refusals', async () => {
    let n = 0;
    const delays: number[] = [];
    const v = await retryTransient(async () => {
      if (++n < 3) throw new Error('ECONNREFUSED');
      return 'ok';
    }, (_e, ms) => delays.push(ms), undefined, backoff(1, 2));
    expect(v).toBe('ok');
    expect(delays.length).toBe(2);
    await expect(retryTransient(async () => Promise.reject(new ControllerError(401, 'no')), () => {})).rejects.toThrow('no');
  });
});
