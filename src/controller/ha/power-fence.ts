// Power fencing (docs/failover.md, "Power fencing"): when the failover loop
// judges a host with a BMC `suspected` (silent, its lease not renewed
// lately), it powers the machine off through its driver and reads the power
// state back until the BMC says off. A confirmed off makes the host dead at
// the next poll (judgeHost's `poweredOff`), without waiting for the lease to
// expire: a machine that is off runs no QEMU. A failed or unconfirmed power
// off changes nothing: the lease expiry path goes on as without a BMC.
//
// Each host is power-fenced at most once per failure: the attempt is kept
// (in memory) until the host reports again. It runs beside the loop's polls,
// never inside one: a slow BMC must not hold up the judging of other hosts.
import { setTimeout as sleep } from 'node:timers/promises';
import { bmcLabel, type PowerDriver } from '../../core/power.js';
import type { ControllerContext } from '../context.js';
import { getPowerRecord, powerDriverOf } from '../host-power.js';
import type { HostPowerRecord, HostRecord } from '../records.js';

export interface PowerFenceTiming {
  /** How long after the power off the BMC may take to say off (ms). */
  confirmTimeoutMs: number;
  /** How often the power state is read until then (ms). */
  confirmEveryMs: number;
}

export const DEFAULT_POWER_FENCE_TIMING: PowerFenceTiming = { confirmTimeoutMs: 20_000, confirmEveryMs: 1000 };

interface Attempt {
  /** When the host last reported as the attempt began (monotonic); a later report ends the attempt's memory. */
  lastSeen: number | undefined;
  state: 'powering-off' | 'off' | 'failed';
  bmc: string;
  error?: string;
}

type Outcome = 'started' | 'off' | 'failed';

export class PowerFencing {
  private readonly attempts = new Map<string, Attempt>();

  constructor(
    private readonly ctx: () => ControllerContext,
    private readonly timing: PowerFenceTiming = DEFAULT_POWER_FENCE_TIMING,
    private readonly clock: () => number = () => performance.now(),
  ) {}

  /** Forgets the attempt on a host that reported since it began: a later failure may be fenced again. */
  noteReports(hostId: string, lastSeen: number | undefined): void {
    const a = this.attempts.get(hostId);
    if (a && a.lastSeen !== lastSeen) this.attempts.delete(hostId);
  }

  /** Its BMC confirmed it off since it last reported. */
  confirmedOff(hostId: string): boolean {
    return this.attempts.get(hostId)?.state === 'off';
  }

  /** What the host's verdict should add about power fencing now, if anything. */
  note(hostId: string): string | undefined {
    const a = this.attempts.get(hostId);
    if (a?.state === 'powering-off') return `powering it off through its BMC (${a.bmc})`;
    if (a?.state === 'failed') return `power fencing through its BMC failed (${a.error}); waiting for its lease to expire`;
    return undefined;
  }

  /** Starts powering off a suspected host, unless this failure had its attempt already or the host has no BMC set. */
  async begin(host: HostRecord, lastSeen: number | undefined, why: string): Promise<void> {
    if (this.attempts.has(host.id) || !this.ctx().powerDrivers) return;
    let rec: HostPowerRecord | undefined;
    try {
      rec = (await getPowerRecord(this.ctx(), host.id))?.data;
    } catch (err) {
      // Never let it stop the poll: the next one asks again.
      this.ctx().log.error({ err }, `host ${host.name}: cannot read its BMC settings for power fencing`);
      return;
    }
    if (!rec || this.attempts.has(host.id)) return;
    const attempt: Attempt = { lastSeen, state: 'powering-off', bmc: bmcLabel(rec) };
    this.attempts.set(host.id, attempt);
    this.publish(host, 'started', `powering it off through its BMC (${attempt.bmc}) to fence it: ${why}`, attempt);
    void this.run(host, rec, attempt);
  }

  private async run(host: HostRecord, rec: HostPowerRecord, attempt: Attempt): Promise<void> {
    const started = this.clock();
    try {
      const driver = powerDriverOf(this.ctx(), host, rec);
      await driver.powerOff();
      await this.confirmOff(driver);
      attempt.state = 'off';
      const took = ((this.clock() - started) / 1000).toFixed(1);
      // It reported while being switched off (the attempt was forgotten): judged afresh, and fenced anew once silent.
      const next = this.attempts.get(host.id) === attempt ? 'it is declared dead without waiting for its lease to expire' : 'it had reported again meanwhile, so it is judged afresh';
      this.publish(host, 'off', `powered off by its BMC (${attempt.bmc}), confirmed off after ${took} s: ${next}`, attempt);
    } catch (err) {
      if (this.ctx().stopping.aborted) return; // the controller is shutting down
      attempt.state = 'failed';
      attempt.error = (err as Error).message;
      this.publish(host, 'failed', `power fencing failed: ${attempt.error}; failover waits for its lease to expire, as without a BMC`, attempt);
    }
  }

  /** Reads the power state until the BMC says off; throws when it does not within confirmTimeoutMs. */
  private async confirmOff(driver: PowerDriver): Promise<void> {
    const deadline = this.clock() + this.timing.confirmTimeoutMs;
    for (;;) {
      const state = await driver.status();
      if (state === 'off') return;
      if (this.clock() >= deadline) throw new Error(`the BMC still says the power is ${state} ${this.timing.confirmTimeoutMs} ms after the power off: not confirmed off`);
      await sleep(this.timing.confirmEveryMs, undefined, { signal: this.ctx().stopping });
    }
  }

  private publish(host: HostRecord, outcome: Outcome, message: string, a: Attempt): void {
    const ctx = this.ctx();
    const text = `host ${host.name}: ${message}`;
    if (outcome === 'failed') ctx.log.error(text);
    else ctx.log.warn(text);
    ctx.state.events.publish({ kind: 'host.power-fence', resource: host.name, message: text, data: { id: host.id, state: outcome, bmc: a.bmc, ...(a.error ? { error: a.error } : {}) } });
  }
}
