// How every BMC call is made: each attempt has its own timeout (a BMC that
// hangs must not hang failover), failed attempts are tried again a few times
// with a growing pause (BMCs are slow and drop requests under load), and the
// error that comes out names the host, the BMC and the action. Errors that
// another try cannot fix (bad credentials, ipmitool missing) are not retried.
import pRetry, { AbortError } from 'p-retry';
import { bmcLabel, type PowerTarget } from '../../core/power.js';

export interface CallPolicy {
  /** One attempt's limit (ms): the request or ipmitool run is abandoned after it. */
  timeoutMs: number;
  /** Further attempts after a failed one. */
  retries: number;
  /** The pause before the first retry (ms); it doubles for each further one. */
  retryDelayMs: number;
}

export const DEFAULT_CALL_POLICY: CallPolicy = { timeoutMs: 10_000, retries: 2, retryDelayMs: 500 };

/** A failure no retry can fix. */
export class PermanentPowerError extends Error {
  override name = 'PermanentPowerError';
}

/** What a driver call throws: "host h1, BMC redfish https://bmc: power off failed (3 attempts): HTTP 500 ...". */
export class PowerDriverError extends Error {
  override name = 'PowerDriverError';
  constructor(
    readonly hostName: string,
    readonly bmc: string,
    readonly action: string,
    readonly attempts: number,
    readonly detail: string,
  ) {
    super(`host ${hostName}, BMC ${bmc}: ${action} failed${attempts > 1 ? ` (${attempts} attempts)` : ''}: ${detail}`);
  }
}

/** Runs `attempt` under the policy; each attempt gets an AbortSignal that fires at its timeout. */
export async function callWithPolicy<T>(target: PowerTarget, action: string, policy: CallPolicy, attempt: (signal: AbortSignal) => Promise<T>): Promise<T> {
  let attempts = 0;
  try {
    return await pRetry(async () => {
      attempts++;
      const signal = AbortSignal.timeout(policy.timeoutMs);
      try {
        return await attempt(signal);
      } catch (err) {
        if (err instanceof PermanentPowerError) throw new AbortError(err);
        // Plain Errors only: p-retry gives up on TypeErrors (undici's "fetch failed" is one).
        throw new Error(signal.aborted ? `no answer within ${policy.timeoutMs} ms` : messageOf(err));
      }
    }, { retries: policy.retries, minTimeout: policy.retryDelayMs, factor: 2, randomize: false });
  } catch (err) {
    throw new PowerDriverError(target.hostName, bmcLabel(target), action, attempts, messageOf(err));
  }
}

/** An error's message with its cause's (undici: "fetch failed: connect ECONNREFUSED 127.0.0.1:1"). */
export function messageOf(err: unknown): string {
  if (!(err instanceof Error)) return String(err);
  const cause = err.cause instanceof Error ? err.cause.message : undefined;
  return cause && !err.message.includes(cause) ? `${err.message}: ${cause}` : err.message;
}
