// The simulator's virtual clock: milliseconds since the scenario's start. It
// only moves forward, and only when the engine moves it; nothing in the
// simulator reads the machine's clock, so a run is a pure function of the
// scenario and the seed.
export class VirtualClock {
  private now = 0;

  constructor(startMs = 0) {
    this.now = startMs;
  }

  nowMs(): number {
    return this.now;
  }

  /** Moves to `ms`; moving back is a bug in the engine. */
  set(ms: number): void {
    if (ms < this.now) throw new Error(`virtual clock cannot go back from ${this.now} ms to ${ms} ms`);
    this.now = ms;
  }
}

export const SECOND = 1000;
export const MINUTE = 60 * SECOND;
export const HOUR = 60 * MINUTE;
export const DAY = 24 * HOUR;
