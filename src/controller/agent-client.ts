// Calls from the controller to a host agent's own small API (port checks,
// serial log, image build/import, console), with the host's credential.
import { ApiError, ErrorCode } from '../api/errors.js';
import { AGENT_PATHS, type CheckPortsRequest, type CheckPortsResponse, type ImageProgressLine } from '../api/agent-protocol.js';
import { fillPath } from '../api/routes.js';
import type { HostRecord } from './records.js';
import { hostCredential } from './secrets.js';

type AgentPath = (typeof AGENT_PATHS)[keyof typeof AGENT_PATHS];

export class AgentClient {
  constructor(private readonly credentialKey: string) {}

  credential(host: HostRecord): string {
    return hostCredential(this.credentialKey, host.id, host.credentialGeneration);
  }

  url(host: HostRecord, path: AgentPath, params?: Record<string, string>): URL {
    return new URL(fillPath(path, params), host.agentUrl);
  }

  /** ws:// URL of the VM's serial console on its agent, with the credential as `?token=`. */
  consoleUrl(host: HostRecord, vmId: string): string {
    const url = this.url(host, AGENT_PATHS.console, { id: vmId });
    url.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:';
    url.searchParams.set('token', this.credential(host));
    return url.toString();
  }

  /** The host ports among `ports` that something on the host already listens on. */
  async busyPorts(host: HostRecord, ports: CheckPortsRequest['ports']): Promise<number[]> {
    const res = await this.request(host, AGENT_PATHS.checkPorts, { method: 'POST', body: { ports } satisfies CheckPortsRequest, timeoutMs: 5000 });
    return ((await res.json()) as CheckPortsResponse).busy;
  }

  async serialLog(host: HostRecord, vmId: string, bytes: number): Promise<string> {
    const url = this.url(host, AGENT_PATHS.serialLog, { id: vmId });
    url.searchParams.set('bytes', String(bytes));
    const res = await this.request(host, url, { method: 'GET', timeoutMs: 10_000 });
    const text = await res.text();
    if (!(res.headers.get('content-type') ?? '').includes('application/json')) return text;
    const body = JSON.parse(text) as { text?: unknown };
    return typeof body.text === 'string' ? body.text : text;
  }

  /** Streams the agent's NDJSON progress lines while it builds or imports an image. */
  async *imageProgress(host: HostRecord, path: AgentPath, body: unknown, signal: AbortSignal): AsyncGenerator<ImageProgressLine> {
    const res = await this.request(host, path, { method: 'POST', body, signal });
    if (!res.body) return;
    const decoder = new TextDecoder();
    let buffered = '';
    for await (const chunk of res.body as AsyncIterable<Uint8Array>) {
      buffered += decoder.decode(chunk, { stream: true });
      const lines = buffered.split('\n');
      buffered = lines.pop() ?? '';
      for (const line of lines) if (line.trim()) yield JSON.parse(line) as ImageProgressLine;
    }
    if (buffered.trim()) yield JSON.parse(buffered) as ImageProgressLine;
  }

  private async request(host: HostRecord, target: AgentPath | URL, o: { method: string; body?: unknown; timeoutMs?: number; signal?: AbortSignal }): Promise<Response> {
    const url = target instanceof URL ? target : this.url(host, target);
    const signals = [o.signal, o.timeoutMs ? AbortSignal.timeout(o.timeoutMs) : undefined].filter((s): s is AbortSignal => s !== undefined);
    let res: Response;
    try {
      res = await fetch(url, {
        method: o.method,
        headers: { authorization: `Bearer ${this.credential(host)}`, ...(o.body !== undefined ? { 'content-type': 'application/json' } : {}) },
        body: o.body !== undefined ? JSON.stringify(o.body) : undefined,
        signal: signals.length ? AbortSignal.any(signals) : undefined,
      });
    } catch (err) {
      throw new ApiError(ErrorCode.unavailable, `host agent ${host.name} at ${host.agentUrl} is unreachable: ${(err as Error).message}`);
    }
    if (!res.ok) throw ApiError.fromBody(res.status, await res.json().catch(() => undefined));
    return res;
  }
}
