// The agent flags --reserve-cpus and --reserve-memory: CPUs and memory held
// back for the host itself (hypervisor, page cache, daemons), reported in the
// inventory and never given to VMs by the controller (docs/operations.md,
// "Host reservations"). Pure: the host's totals are passed in.

export interface HostReservation {
  cpus: number;
  memoryMiB: number;
}

/** A bad flag value; `flag` names it, the message says what is allowed. */
export class ReservationError extends Error {
  override name = 'ReservationError';
  constructor(
    readonly flag: string,
    message: string,
  ) {
    super(message);
  }
}

function parseOne(flag: string, text: string | undefined, total: number, unit: string): number {
  if (text === undefined) return 0;
  const value = /^\s*\d+\s*$/.test(text) ? Number(text) : NaN;
  const allowed = `a whole number of ${unit} from 0 to ${total - 1} (this host has ${total} ${unit})`;
  if (!Number.isSafeInteger(value)) throw new ReservationError(flag, `${flag} must be ${allowed}; got "${text}"`);
  if (value >= total) throw new ReservationError(flag, `${flag} ${value} leaves nothing for VMs: it must be ${allowed}`);
  return value;
}

/**
 * The reservation the flags ask for (absent: 0), checked against the host's
 * totals: whole numbers >= 0 and below the total. Throws ReservationError.
 */
export function parseReservation(flags: { reserveCpus?: string | undefined; reserveMemory?: string | undefined }, totals: HostReservation): HostReservation {
  return {
    cpus: parseOne('--reserve-cpus', flags.reserveCpus, totals.cpus, 'CPUs'),
    memoryMiB: parseOne('--reserve-memory', flags.reserveMemory, totals.memoryMiB, 'MiB'),
  };
}
