// Wakes whoever waits for observed state (job steps, agents' long polls)
// after every commit: waits re-check on each change instead of polling.

export class WaitTimeoutError extends Error {
  constructor(what: string, timeoutMs: number) {
    super(`timed out after ${Math.round(timeoutMs / 1000)} s waiting for ${what}`);
    this.name = 'WaitTimeoutError';
  }
}

/** The controller is shutting down: the waiter should stop without recording a failure. */
export class ShutdownError extends Error {
  constructor() {
    super('the controller is shutting down');
    this.name = 'ShutdownError';
  }
}

export class ChangeFeed {
  private readonly listeners = new Set<() => void>();

  notify(): void {
    for (const l of [...this.listeners]) l();
  }

  subscribe(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /**
   * Resolves with the first defined result of `check`, which runs now and
   * after every change (never two at once; changes during a run cause one
   * more run). A throw from `check` rejects. Rejects with WaitTimeoutError
   * after `timeoutMs` and with ShutdownError when `signal` aborts.
   */
  waitUntil<T>(check: () => Promise<T | undefined>, timeoutMs: number, what: string, signal?: AbortSignal): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      let running = false;
      let dirty = false;
      let done = false;
      const finish = (settle: () => void) => {
        if (done) return;
        done = true;
        clearTimeout(timer);
        unsubscribe();
        signal?.removeEventListener('abort', onAbort);
        settle();
      };
      const run = async () => {
        if (running) {
          dirty = true;
          return;
        }
        running = true;
        try {
          do {
            dirty = false;
            const result = await check();
            if (result !== undefined) return finish(() => resolve(result));
          } while (dirty && !done);
        } catch (err) {
          finish(() => reject(err));
        } finally {
          running = false;
        }
      };
      const onAbort = () => finish(() => reject(new ShutdownError()));
      const unsubscribe = this.subscribe(() => void run());
      const timer = setTimeout(() => finish(() => reject(new WaitTimeoutError(what, timeoutMs))), timeoutMs);
      if (signal?.aborted) return onAbort();
      signal?.addEventListener('abort', onAbort, { once: true });
      void run();
    });
  }
}
