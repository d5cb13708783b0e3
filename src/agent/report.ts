// Reports to the controller: every 2 s, and ~5 ms after any change. One
// report is in flight at a time; a change during it triggers one more.
import type { Logger } from 'pino';
import type { HostHaReport, HostReport } from '../api/agent-protocol.js';
import type { BalloonDecisionsReport } from '../api/balloon.js';
import type { HostInventory } from '../api/resources.js';
import type { Agent } from './agent.js';
import { imageReports } from './images.js';

export async function buildHostReport(
  agent: Agent,
  inventory: () => Promise<HostInventory>,
  imagesDir: string,
  ha?: () => HostHaReport,
  balloon?: () => BalloonDecisionsReport | undefined,
): Promise<HostReport> {
  const [inv, vms, images] = await Promise.all([inventory(), agent.vmReports(), imageReports(imagesDir)]);
  const decisions = balloon?.();
  return { inventory: inv, vms, images, usedPorts: agent.usedPorts(), ...(ha ? { ha: ha() } : {}), ...(decisions ? { balloon: decisions } : {}) };
}

export interface ReporterOptions {
  intervalMs?: number;
  debounceMs?: number;
}

export class Reporter {
  private interval: NodeJS.Timeout | null = null;
  private debounce: NodeJS.Timeout | null = null;
  private inFlight = false;
  private again = false;
  private failing = false;
  private readonly intervalMs: number;
  private readonly debounceMs: number;

  constructor(
    private readonly build: () => Promise<HostReport>,
    private readonly send: (report: HostReport) => Promise<void>,
    private readonly log: Logger,
    opts: ReporterOptions = {},
  ) {
    this.intervalMs = opts.intervalMs ?? 2000;
    this.debounceMs = opts.debounceMs ?? 5;
  }

  start(): void {
    this.interval ??= setInterval(() => void this.kick(), this.intervalMs);
    void this.kick();
  }

  stop(): void {
    if (this.interval) clearInterval(this.interval);
    if (this.debounce) clearTimeout(this.debounce);
    this.interval = null;
    this.debounce = null;
  }

  /** Something changed: report shortly (changes within the debounce window share one report). */
  soon(): void {
    if (!this.interval || this.debounce) return;
    this.debounce = setTimeout(() => {
      this.debounce = null;
      void this.kick();
    }, this.debounceMs);
  }

  /** Sends a report now, or once more after the one in flight. */
  async kick(): Promise<void> {
    if (this.inFlight) {
      this.again = true;
      return;
    }
    this.inFlight = true;
    try {
      do {
        this.again = false;
        await this.sendOnce();
      } while (this.again);
    } finally {
      this.inFlight = false;
    }
  }

  private async sendOnce(): Promise<void> {
    try {
      await this.send(await this.build());
      if (this.failing) this.log.info('reports reach the controller again');
      this.failing = false;
    } catch (err) {
      // Log the first failure of a streak only; VMs keep running meanwhile.
      if (!this.failing) this.log.warn({ err }, `cannot report to the controller: ${(err as Error).message}`);
      this.failing = true;
    }
  }
}
