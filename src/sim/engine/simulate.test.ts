import { describe, expect, it } from 'vitest';
import type { PlanAction, PlanGoal } from '../../core/planner/plan.js';
import type { ClusterSnapshot } from '../../core/planner/snapshot.js';
import { HOUR, MINUTE } from '../clock.js';
import { reportJson } from '../output.js';
import type { Planner } from '../planner-port.js';
import { loaded } from '../test-support/scenarios.js';
import { simplePlanner } from '../test-support/simple-planner.js';
import { simulate } from './simulate.js';

/** A planner that places everything on h-0 and otherwise does what `script` says. */
type Scripted = PlanAction & { wave?: number };
function scripted(script: (s: ClusterSnapshot, goal: PlanGoal) => Scripted[]): Planner {
  return (s, goal) => {
    const actions: Scripted[] = goal === 'place' ? s.vms.filter((v) => v.host === null).map((v): Scripted => ({ kind: 'place', vm: v.id, host: 'h-0' })) : script(s, goal);
    return {
      goal, unplaced: [], metrics: {},
      actions: actions.map((a) => {
        const { wave, ...action } = a as { wave?: number } & Record<string, unknown>;
        return { action: action as unknown as PlanAction, reason: 'test', ...(wave !== undefined ? { wave } : {}) };
      }),
    };
  };
}
const at = (s: ClusterSnapshot, ms: number) => s.nowMs === ms;

describe('the simulation engine', () => {
  it('is deterministic: same scenario and seed, same report bytes; another seed, another report', () => {
    const scn = { policies: { balance: { automation: 'automatic', threshold: 0.05 }, power: { enabled: true } } };
    const a = reportJson(simulate(loaded(scn), { planner: simplePlanner }));
    expect(reportJson(simulate(loaded(scn), { planner: simplePlanner }))).toBe(a);
    expect(reportJson(simulate(loaded(scn), { planner: simplePlanner, seed: 2 }))).not.toBe(a);
  });

  it('measures one sample per step and places the VMs before the first', () => {
    const r = simulate(loaded(), { planner: simplePlanner });
    expect(r.series.tHours).toHaveLength(24);
    expect(r.series.tHours[1]).toBeCloseTo(5 / 60, 4);
    expect(r.series.unplaced.vms.every((n) => n === 0)).toBe(true);
    expect(r.planner.actions).toEqual({ place: 6 });
    expect(r.totals.energy).toEqual({ hostHoursOn: 6, baselineHostHours: 6, savedPct: 0 });
  });

  it('migrates in the modelled time, and the planner sees the VM at its target at once', () => {
    const seen: Array<string | null> = [];
    const planner = scripted((s, goal) => {
      if (goal === 'balance') seen.push(s.vms.find((v) => v.id === 'vm-0')!.host);
      return goal === 'balance' && at(s, HOUR) ? [{ kind: 'migrate', vm: 'vm-0', from: 'h-0', to: 'h-1' }] : [];
    });
    const r = simulate(loaded({ vms: [{ name: 'vm', count: 2, cpus: 2, memory: '8GiB', dirtyMiBs: 0, trace: { kind: 'step', levels: [{ at: 0, cpu: 0.5 }] } }], policies: { balance: { automation: 'automatic' } } }), { planner });
    expect(r.totals.migrations).toMatchObject({ total: 1, byCause: { balance: 1 }, meanSeconds: 10.192, movedGiB: 8 });
    expect(r.series.migrations[12]).toBe(1);
    expect(seen[12]).toBe('h-0');
    expect(seen[13]).toBe('h-1');
  });

  it('powers hosts down once empty and up in bootSeconds', () => {
    const planner = scripted((s, goal) => {
      if (goal !== 'consolidate') return [];
      if (at(s, 0)) return [{ kind: 'standby', host: 'h-1' }, { kind: 'standby', host: 'h-2' }];
      return at(s, HOUR) ? [{ kind: 'power-on', host: 'h-2' }] : [];
    });
    const r = simulate(loaded({ hosts: [{ name: 'h', count: 3, cpus: 16, memory: '64GiB', bootSeconds: 400, standbySeconds: 60 }], policies: { power: { enabled: true } } }), { planner });
    const s = r.series;
    expect(s.activeHosts.slice(0, 3)).toEqual([3, 1, 1]); // standby takes 60 s: still drawing power at the first sample
    expect(s.bootingHosts.slice(11, 15)).toEqual([0, 1, 1, 0]); // 400 s of boot from 1 h: two samples
    expect(s.activeHosts[23]).toBe(2);
    expect(r.totals.energy.hostHoursOn).toBeLessThan(r.totals.energy.baselineHostHours);
  });

  it('asks for power before balance in a round, as the controller does: a power plan that only wakes hosts does not hold the balancer back', () => {
    const calls: string[] = [];
    const planner = scripted((s, goal) => {
      if (goal !== 'balance' && goal !== 'consolidate') return [];
      if (at(s, HOUR) || at(s, 30 * MINUTE)) calls.push(`${s.nowMs! / MINUTE}:${goal}`);
      if (goal === 'consolidate' && at(s, HOUR)) return [{ kind: 'power-on', host: 'h-2' }];
      if (goal === 'consolidate' && at(s, 30 * MINUTE)) return [{ kind: 'migrate', vm: 'vm-1', from: 'h-0', to: 'h-1' }];
      return goal === 'balance' && at(s, HOUR) ? [{ kind: 'migrate', vm: 'vm-0', from: 'h-0', to: 'h-1' }] : [];
    });
    const r = simulate(loaded({
      hosts: [{ name: 'h', count: 3, cpus: 16, memory: '64GiB', bootSeconds: 120, standby: 1 }],
      policies: { balance: { automation: 'automatic' }, power: { enabled: true } },
    }), { planner });
    // At 30 min the power plan moves a VM: the balancer waits for it. At 1 h it only wakes h-2: the balancer plans too.
    expect(calls).toEqual(['30:consolidate', '60:consolidate', '60:balance']);
    expect(r.series.bootingHosts[12]).toBe(1);
    expect(r.totals.migrations.byCause).toEqual({ consolidate: 1, balance: 1 });
  });

  it('refuses illegal actions and counts why', () => {
    const planner = scripted((s, goal) => (goal === 'balance' && at(s, 0) ? [
      { kind: 'migrate', vm: 'vm-0', from: 'h-1', to: 'h-2' },
      { kind: 'place', vm: 'vm-1', host: 'h-9' },
      { kind: 'standby', host: 'h-0' },
      { kind: 'migrate', vm: 'nope', from: 'h-0', to: 'h-1' },
    ] : []));
    const r = simulate(loaded({ policies: { balance: { automation: 'automatic' } } }), { planner });
    expect(r.planner.rejected).toEqual({ 'VM is not on the source host': 1, 'VM is placed already': 1, 'host still holds 6 VM(s) not moving away': 1, 'unknown VM': 1 });
    expect(r.planner.rejectedExamples[0]).toMatchObject({ tHours: 0, goal: '"balance"', reason: 'VM is not on the source host' });
  });

  it('runs a plan wave by wave: the next wave starts when the migrations of the last have ended', () => {
    const moved: Record<string, number | undefined> = {};
    const planner = scripted((s, goal) => {
      for (const v of s.vms) if (v.lastMovedAtMs !== undefined) moved[v.id] = v.lastMovedAtMs;
      return goal === 'balance' && at(s, 0) ? [{ kind: 'migrate', vm: 'vm-0', from: 'h-0', to: 'h-1', wave: 0 }, { kind: 'migrate', vm: 'vm-1', from: 'h-0', to: 'h-1', wave: 1 }] : [];
    });
    simulate(loaded({ vms: [{ name: 'vm', count: 2, cpus: 2, memory: '8GiB', dirtyMiBs: 0, trace: { kind: 'step', levels: [{ at: 0, cpu: 0.5 }] } }], policies: { balance: { automation: 'automatic' } } }), { planner });
    expect(moved).toEqual({ 'vm-0': 0, 'vm-1': 10_192 });
  });

  it('with automation recommend, counts the balancer moves and makes none', () => {
    const planner = scripted((s, goal) => (goal === 'balance' ? [{ kind: 'migrate', vm: 'vm-0', from: 'h-0', to: 'h-1' }] : []));
    const r = simulate(loaded({ policies: { balance: { automation: 'recommend', interval: '1h' } } }), { planner });
    expect(r.planner).toMatchObject({ calls: { place: 1, balance: 2 }, recommendations: 2 });
    expect(r.totals.migrations.total).toBe(0);
  });

  it('restarts the HA VMs of a failed host after detection plus start time, and never runs a VM twice', () => {
    const r = simulate(loaded({
      vms: [
        { name: 'db', count: 3, cpus: 2, memory: '8GiB', ha: true, trace: { kind: 'bursty' } },
        { name: 'dev', count: 3, cpus: 2, memory: '8GiB', trace: { kind: 'bursty' } },
      ],
      events: [{ at: '30m', kind: 'host-failure', host: 'h-0' }, { at: '90m', kind: 'host-repair', host: 'h-0' }],
    }), { planner: simplePlanner });
    // Spread placement puts one db and one dev VM on each host.
    expect(r.totals.ha).toEqual({ vmsLost: 2, restarted: 1, restartP50Seconds: 40, restartMaxSeconds: 40, neverRestarted: 0 });
    expect(r.series.unplaced.vms.slice(5, 8)).toEqual([0, 0, 1]); // at 30:00 not detected yet; at 35 the HA one is back, the other down
    // Repaired at 90 min (step 18), the host boots for 120 s; the dev VM, placed again, runs by the next step.
    expect(r.series.unplaced.vms.slice(17, 20)).toEqual([1, 1, 0]);
    expect(r.series.failedHosts.slice(5, 19)).toEqual([0, ...new Array(12).fill(1), 0]);
    expect(r.totals.doubleRuns).toBe(0);
    expect(r.log.map((l) => l.text)).toEqual(['host h-0 fails', 'host h-0 declared failed: 2 VM(s) lost, 1 of them HA', 'host h-0 repaired']);
  });

  it('evacuates a host in maintenance at once, and gives it back after', () => {
    const seen: string[] = [];
    const planner: Planner = (s, goal) => {
      if (typeof goal === 'object') seen.push(`${s.nowMs! / MINUTE}:${s.hosts.find((h) => h.id === goal.evacuate)!.state}`);
      return simplePlanner(s, goal);
    };
    const r = simulate(loaded({ events: [{ at: '12m', kind: 'maintenance', host: 'h-1', until: '1h' }] }), { planner });
    expect(seen).toEqual(['12:maintenance']);
    expect(r.totals.migrations.byCause).toEqual({ evacuate: 2 });
    expect(r.log.map((l) => l.text)).toEqual(['host h-1 enters maintenance', 'host h-1 leaves maintenance']);
  });

  it('applies scheduled load and VM arrivals and departures', () => {
    const r = simulate(loaded({
      vms: [
        { name: 'a', count: 2, cpus: 4, memory: '4GiB', trace: { kind: 'step', levels: [{ at: 0, cpu: 0.25 }] } },
        { name: 'b', count: 1, cpus: 4, memory: '4GiB', start: '30m', stop: '1h', trace: { kind: 'step', levels: [{ at: 0, cpu: 0.5 }] } },
      ],
      events: [{ at: '1h30m', kind: 'load', vms: 'a', factor: 3, until: '1h40m' }],
    }), { planner: simplePlanner });
    const d = r.series.demandCores;
    expect([d[0], d[6], d[12], d[18], d[19], d[20]]).toEqual([2, 4, 2, 6, 6, 2]);
    expect(r.planner.calls.place).toBe(2);
  });

  it('with forecast: oracle, hands the planner the demand of the coming hour', () => {
    const forecasts = new Map<number, Array<{ atMs: number; cpu: number }>>(); // by the minute it was made
    const planner: Planner = (s, goal) => {
      if (goal === 'consolidate') forecasts.set(s.nowMs! / MINUTE, (s.forecast ?? []).map((f) => ({ atMs: f.atMs, cpu: f.cpu })));
      return simplePlanner(s, goal);
    };
    const r = simulate(loaded({
      vms: [{ name: 'vm', count: 4, cpus: 2, memory: '4GiB', trace: { kind: 'step', levels: [{ at: 0, cpu: 0.25 }, { at: '1h', cpu: 0.5 }] } }],
      policies: { power: { enabled: true, forecast: 'oracle', lookahead: '30m' } },
      events: [{ at: '90m', kind: 'load', vms: 'vm', factor: 2 }],
    }), { planner });
    expect(forecasts.get(0)).toEqual([1, 2, 3, 4, 5, 6].map((k) => ({ atMs: k * 5 * MINUTE, cpu: 2 })));
    expect(forecasts.get(30)!.map((f) => f.cpu)).toEqual([2, 2, 2, 2, 2, 4]);
    expect(forecasts.get(60)!.map((f) => f.cpu)).toEqual([4, 4, 4, 4, 4, 8]);
    expect(r.series.demandCores.slice(17, 19)).toEqual([4, 8]);
  });
});
