// Collects what the report shows: one sample per step, and the counts of
// things as they happen (migrations, restarts, planner actions, rejections).
import type { PlanGoal } from '../../core/planner/plan.js';
import { HOUR } from '../clock.js';
import type { PlannerStats } from '../report/types.js';
import type { StepSample } from './sample.js';
import type { VmMigration, VmRec } from './world.js';

export interface Series {
  tHours: number[];
  samples: StepSample[];
  migrations: number[];
}

const MAX_EXAMPLES = 20;
const MAX_LOG = 500;

export class Recorder {
  readonly series: Series = { tHours: [], samples: [], migrations: [] };
  readonly planner: PlannerStats = { calls: {}, actions: {}, rejected: {}, rejectedExamples: [], unplacedByConstraint: {}, recommendations: 0 };
  readonly migrationsByCause: Record<string, number> = {};
  readonly migrationSeconds: number[] = [];
  movedMiB = 0;
  migrationsCancelled = 0;
  readonly restartSeconds: number[] = [];
  vmsLost = 0;
  doubleRuns = 0;
  readonly log: Array<{ tHours: number; text: string }> = [];
  private migrationsNow = 0;
  private readonly restartFrom = new Map<string, number>();

  constructor(private readonly nowMs: () => number) {}

  note(text: string): void {
    if (this.log.length < MAX_LOG) this.log.push({ tHours: this.nowMs() / HOUR, text });
  }

  step(tMs: number, s: StepSample): void {
    this.series.tHours.push(tMs / HOUR);
    this.series.samples.push(s);
    this.series.migrations.push(this.migrationsNow);
    this.migrationsNow = 0;
  }

  migrationStarted(_vm: VmRec, cause: string): void {
    this.migrationsNow++;
    this.migrationsByCause[cause] = (this.migrationsByCause[cause] ?? 0) + 1;
  }

  migrationDone(vm: VmRec, _m: VmMigration, totalMs: number): void {
    this.migrationSeconds.push(totalMs / 1000);
    this.movedMiB += vm.spec.memoryMiB;
  }

  migrationCancelled(): void {
    this.migrationsCancelled++;
  }

  vmLost(vm: VmRec): void {
    this.vmsLost++;
    if (vm.spec.ha) this.restartFrom.set(vm.id, vm.lost!.atMs);
  }

  restartOrdered(vm: VmRec): void {
    if (vm.lost) this.restartFrom.set(vm.id, vm.lost.atMs);
  }

  vmUp(vm: VmRec, nowMs: number): void {
    const from = this.restartFrom.get(vm.id);
    if (from === undefined) return;
    this.restartFrom.delete(vm.id);
    this.restartSeconds.push((nowMs - from) / 1000);
  }

  /** HA VMs lost and not back. */
  neverRestarted(): number {
    return this.restartFrom.size;
  }

  planCall(goal: PlanGoal): void {
    const name = typeof goal === 'string' ? goal : 'evacuate';
    this.planner.calls[name] = (this.planner.calls[name] ?? 0) + 1;
  }

  action(kind: string): void {
    this.planner.actions[kind] = (this.planner.actions[kind] ?? 0) + 1;
  }

  rejected(goal: PlanGoal, action: object, reason: string): void {
    this.planner.rejected[reason] = (this.planner.rejected[reason] ?? 0) + 1;
    if (this.planner.rejectedExamples.length < MAX_EXAMPLES) {
      this.planner.rejectedExamples.push({ tHours: this.nowMs() / HOUR, goal: JSON.stringify(goal), action: JSON.stringify(action), reason });
    }
  }

  unplaced(constraint: string): void {
    this.planner.unplacedByConstraint[constraint] = (this.planner.unplacedByConstraint[constraint] ?? 0) + 1;
  }
}

