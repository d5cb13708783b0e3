// The fault suite's witness of "nothing acknowledged is lost": a loop that
// has the guest write an ever larger number to the first sector of its data
// disk (the guest's /counter fsyncs before it answers, and never lets a
// smaller value overwrite a larger one) and remembers the largest value the
// guest acknowledged. Whenever the guest stops answering (a fault), the
// first thing the loop does once it answers again is read the disk, before
// any new write could hide a loss: it must hold at least the acknowledged
// value. Used by the HA tests and the chaos runner; no vitest here (bench
// imports test helpers).

export interface CounterWriter {
  /** The largest value the guest acknowledged as on its disk. */
  readonly acked: number;
  /** The largest value sent (acknowledged or not). */
  readonly sent: number;
  /** The last writes (value, where, outcome, ms since start): what to print when a check fails. */
  readonly history: readonly string[];
  /** Losses seen when the guest answered again after an outage (empty when none). */
  readonly problems: readonly string[];
  /** Outages the guest came back from (the disk was checked each time). */
  readonly recoveries: number;
  stop(): Promise<void>;
}

/**
 * Starts writing through `base()` (e.g. `http://10.150.1.5` or
 * `http://127.0.1.2:40123`: asked again for each write, so a test can point
 * it at the VM's new host after a failover), every `everyMs`.
 */
export function startCounter(base: () => string, opts: { start?: number; everyMs?: number } = {}): CounterWriter {
  let next = opts.start ?? 1;
  let acked = 0;
  let sent = 0;
  let stopped = false;
  const history: string[] = [];
  const t0 = performance.now();
  const note = (line: string) => {
    history.push(`${Math.round(performance.now() - t0)} ms ${line}`);
    if (history.length > 40) history.shift();
  };
  const problems: string[] = [];
  let recoveries = 0;
  // After a failed write, read before writing again: a new write must not hide a lost one.
  let probing = false;
  const get = async (url: string) => {
    const res = await fetch(url, { signal: AbortSignal.timeout(2000) });
    return { status: res.status, body: (await res.json()) as { written?: number; value?: number | null } };
  };
  const probe = async (where: string) => {
    try {
      const { status, body } = await get(`${where}/counter`);
      if (status !== 200) return;
      const onDisk = typeof body.value === 'number' ? body.value : 0;
      if (onDisk < acked) problems.push(`the guest answered again (at ${where}) with ${onDisk} on its disk, but it had acknowledged ${acked}`);
      next = Math.max(next, onDisk + 1);
      probing = false;
      recoveries++;
      note(`read ${onDisk} at ${where} after an outage`);
    } catch {
      /* still down */
    }
  };
  const write = async (where: string) => {
    const value = next++;
    sent = value;
    try {
      const { status, body } = await get(`${where}/counter?value=${value}`);
      if (status === 200 && body.written === value) {
        acked = value;
        note(`${value} acked by ${where}`);
        return;
      }
      note(`${value} refused by ${where}: ${status} ${JSON.stringify(body)}`);
    } catch (err) {
      note(`${value} failed at ${where}: ${(err as Error).message}`);
    }
    probing = true;
  };
  const loop = (async () => {
    while (!stopped) {
      const where = base();
      await (probing ? probe(where) : write(where));
      await new Promise((r) => setTimeout(r, opts.everyMs ?? 200));
    }
  })();
  return {
    get acked() {
      return acked;
    },
    get sent() {
      return sent;
    },
    history,
    problems,
    get recoveries() {
      return recoveries;
    },
    async stop() {
      stopped = true;
      await loop;
    },
  };
}

/** The value on the guest's data disk now (its /counter reads the disk, not the cache), or undefined while it does not answer. */
export async function readCounter(base: string): Promise<number | undefined> {
  try {
    const res = await fetch(`${base}/counter`, { signal: AbortSignal.timeout(3000) });
    const body = (await res.json()) as { value?: number | null };
    return res.status === 200 && typeof body.value === 'number' ? body.value : undefined;
  } catch {
    return undefined;
  }
}

/** What must hold after recovery: the disk has at least every acknowledged value, and nothing never sent. Empty when it holds. */
export function counterProblems(onDisk: number | undefined, w: Pick<CounterWriter, 'acked' | 'sent'> & { history?: readonly string[]; problems?: readonly string[] }): string[] {
  if (onDisk === undefined) return ['the guest never answered /counter after recovery'];
  const out: string[] = [...(w.problems ?? [])];
  if (onDisk < w.acked) out.push(`the disk holds ${onDisk}, but the guest had acknowledged ${w.acked}: an acknowledged write was lost; last writes:\n${(w.history ?? []).join('\n')}`);
  if (onDisk > w.sent) out.push(`the disk holds ${onDisk}, more than was ever sent (${w.sent})`);
  return out;
}
