// A BMC spoken to over Redfish (DMTF), as fence_redfish does: HTTP Basic
// auth; the ComputerSystem is the address's own path
// (/redfish/v1/Systems/ID) or the only member of /redfish/v1/Systems; its
// PowerState says on or off; POST to its ComputerSystem.Reset action
// (ResetType ForceOff or On) switches it.
//
// undici's own fetch and Agent (not Node's global fetch): the Agent is what
// lets a BMC with a self-signed certificate be accepted when the host's
// settings say `insecure`, and mixing an npm undici Agent with the undici
// bundled in Node is not guaranteed to work.
import { Agent, fetch } from 'undici';
import type { PowerDriver, PowerState, PowerTarget } from '../../core/power.js';
import { callWithPolicy, DEFAULT_CALL_POLICY, messageOf, PermanentPowerError, type CallPolicy } from './call-policy.js';

const SYSTEMS = '/redfish/v1/Systems';

/** A TLS verification failure (by the cause's code, e.g. DEPTH_ZERO_SELF_SIGNED_CERT, or its text). */
function certificateProblem(err: unknown): boolean {
  const cause = (err as { cause?: { code?: unknown; message?: unknown } } | undefined)?.cause;
  return /CERT|SELF_SIGNED|UNABLE_TO_VERIFY|ALTNAME/.test(String(cause?.code ?? '')) || /certificate/i.test(String(cause?.message ?? ''));
}

interface RedfishSystem {
  PowerState?: string | null;
  Actions?: { '#ComputerSystem.Reset'?: { target?: string } };
}

/** Redfish PowerState → ours: power is applied while on, pausing or in transition; only Off is off. */
export function powerStateOf(value: unknown): PowerState {
  if (value === 'Off') return 'off';
  if (value === 'On' || value === 'PoweringOn' || value === 'PoweringOff' || value === 'Paused') return 'on';
  return 'unknown';
}

export class RedfishDriver implements PowerDriver {
  private readonly origin: string;
  private systemPath: string | undefined;
  private resetTarget: string | undefined;
  private readonly authorization: string;
  private readonly dispatcher: Agent;

  constructor(
    private readonly target: PowerTarget,
    private readonly policy: CallPolicy = DEFAULT_CALL_POLICY,
  ) {
    const url = new URL(target.address);
    this.origin = url.origin;
    if (url.pathname !== '/' && url.pathname !== '') this.systemPath = url.pathname.replace(/\/$/, '');
    this.authorization = `Basic ${Buffer.from(`${target.username}:${target.password}`).toString('base64')}`;
    this.dispatcher = new Agent({ connect: { rejectUnauthorized: target.insecure !== true, timeout: policy.timeoutMs }, keepAliveTimeout: 1000 });
  }

  status(): Promise<PowerState> {
    return callWithPolicy(this.target, 'power status', this.policy, async (signal) => powerStateOf((await this.system(signal)).PowerState));
  }

  powerOff(): Promise<void> {
    return callWithPolicy(this.target, 'power off (ForceOff)', this.policy, (signal) => this.reset('ForceOff', 'off', signal));
  }

  powerOn(): Promise<void> {
    return callWithPolicy(this.target, 'power on', this.policy, (signal) => this.reset('On', 'on', signal));
  }

  /** Lets go of the connections (they also close by themselves after 1 s idle). */
  close(): Promise<void> {
    return this.dispatcher.close();
  }

  private async reset(resetType: 'ForceOff' | 'On', wanted: PowerState, signal: AbortSignal): Promise<void> {
    const target = this.resetTarget ?? (await this.findResetTarget(signal));
    try {
      await this.request('POST', target, signal, { ResetType: resetType });
    } catch (err) {
      // Many BMCs refuse ForceOff of a machine that is off (and On of one that is on): that is success.
      if (!signal.aborted && powerStateOf((await this.system(signal).catch(() => undefined))?.PowerState) === wanted) return;
      throw err;
    }
  }

  private async findResetTarget(signal: AbortSignal): Promise<string> {
    const system = await this.system(signal);
    this.resetTarget = system.Actions?.['#ComputerSystem.Reset']?.target ?? `${this.systemPath}/Actions/ComputerSystem.Reset`;
    return this.resetTarget;
  }

  private async system(signal: AbortSignal): Promise<RedfishSystem> {
    this.systemPath ??= await this.findSystem(signal);
    return (await this.request('GET', this.systemPath, signal)) as RedfishSystem;
  }

  /** The only ComputerSystem of the BMC; with several, the address must name one. */
  private async findSystem(signal: AbortSignal): Promise<string> {
    const list = (await this.request('GET', SYSTEMS, signal)) as { Members?: Array<{ '@odata.id'?: string }> };
    const members = (list.Members ?? []).map((m) => m['@odata.id']).filter((id): id is string => typeof id === 'string');
    if (members.length === 1) return members[0]!;
    if (members.length === 0) throw new PermanentPowerError(`${SYSTEMS} lists no ComputerSystem`);
    throw new PermanentPowerError(`the BMC has ${members.length} systems (${members.join(', ')}): give the one of this host in the address, e.g. ${this.origin}${members[0]}`);
  }

  private async request(method: 'GET' | 'POST', path: string, signal: AbortSignal, body?: unknown): Promise<unknown> {
    let res;
    try {
      res = await fetch(new URL(path, this.origin), {
        method,
        headers: { authorization: this.authorization, accept: 'application/json', ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
        body: body === undefined ? undefined : JSON.stringify(body),
        signal,
        dispatcher: this.dispatcher,
      });
    } catch (err) {
      const text = messageOf(err);
      if (certificateProblem(err)) throw new PermanentPowerError(`${method} ${path}: the BMC's TLS certificate is not trusted (${text}); for a self-signed BMC certificate set insecure (drover host power set ... --insecure)`);
      throw new Error(`${method} ${path}: ${text}`);
    }
    const text = await res.text();
    if (res.status === 401 || res.status === 403) throw new PermanentPowerError(`${method} ${path}: HTTP ${res.status}: the BMC refused the user or password`);
    if (!res.ok) throw new Error(`${method} ${path}: HTTP ${res.status}${redfishMessage(text)}`);
    if (!text) return undefined;
    try {
      return JSON.parse(text);
    } catch {
      throw new PermanentPowerError(`${method} ${path}: the answer is not JSON: is ${this.origin} a Redfish service?`);
    }
  }
}

/** The message of a Redfish error body (": ..."), or the start of any other text. */
function redfishMessage(text: string): string {
  try {
    const e = (JSON.parse(text) as { error?: { message?: string; '@Message.ExtendedInfo'?: Array<{ Message?: string }> } }).error;
    const m = e?.['@Message.ExtendedInfo']?.[0]?.Message ?? e?.message;
    if (m) return `: ${m}`;
  } catch {
    // not JSON
  }
  return text.trim() ? `: ${text.trim().slice(0, 200)}` : '';
}
