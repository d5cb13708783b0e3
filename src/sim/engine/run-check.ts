// The "never run twice" rule, checked on what hosts report: per VM, how many
// hosts report it running outside a migration. Only hosts whose report
// changed since the last look are read again (a host keeps its report until
// something on it changes), so a step costs little when little changed.
import type { PortReport } from '../host-port.js';
import type { HostRec, World } from './world.js';

export class RunCheck {
  private readonly seen = new Map<HostRec, { report: PortReport | null; running: string[] }>();
  private readonly count = new Map<string, number>();
  private twice = 0;

  /** VMs that two or more hosts report running now. */
  check(w: World): number {
    for (const h of w.hosts) {
      const report = h.port.report();
      const last = this.seen.get(h);
      if (last && last.report === report) continue;
      const running = report ? report.vms.filter((v) => v.state === 'running' && !v.migration).map((v) => v.id) : [];
      for (const id of last?.running ?? []) this.bump(id, -1);
      for (const id of running) this.bump(id, 1);
      this.seen.set(h, { report, running });
    }
    return this.twice;
  }

  private bump(id: string, d: number): void {
    const before = this.count.get(id) ?? 0;
    const after = before + d;
    this.count.set(id, after);
    if (before < 2 && after >= 2) this.twice++;
    else if (before >= 2 && after < 2) this.twice--;
  }
}
