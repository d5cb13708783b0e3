// The scenario's timed events and VM arrivals/departures, put on the
// timeline. A failed host goes silent at once; the controller declares it
// failed failureDetectSeconds later and asks for an HA restart right then
// (not at the next step). Maintenance starts its evacuation at once too.
import type { Planner } from '../planner-port.js';
import type { EventSpec } from '../scenario/types.js';
import type { Controller } from './controller.js';
import { runGoal } from './planning.js';
import type { Timeline } from './timeline.js';

export function scheduleScenario(c: Controller, timeline: Timeline, planner: Planner): void {
  const w = c.world;
  for (const group of w.scenario.vms) {
    const members = w.vms.filter((v) => v.spec === group);
    if (group.startMs > 0) timeline.at(group.startMs, () => members.forEach((v) => (v.wanted = true)));
    if (group.stopMs !== undefined) {
      timeline.at(group.stopMs, () => {
        members.forEach((v) => c.retire(v));
        c.flush();
      });
    }
  }
  for (const e of w.scenario.events) timeline.at(e.atMs, () => runEvent(c, timeline, planner, e));
}

function runEvent(c: Controller, timeline: Timeline, planner: Planner, e: EventSpec): void {
  const w = c.world;
  if (e.kind === 'load') {
    const members = w.vms.filter((v) => v.spec.name === e.vms);
    members.forEach((v) => (v.loadFactor = e.factor));
    c.rec.note(`load on ${e.vms} x${e.factor}`);
    if (e.untilMs !== undefined) timeline.at(e.untilMs, () => members.forEach((v) => (v.loadFactor = 1)));
    return;
  }
  for (const id of e.hosts) {
    const h = w.hostById.get(id)!;
    if (e.kind === 'host-failure') {
      if (h.port.power() === 'failed') continue;
      h.port.fail();
      c.rec.note(`host ${id} fails`);
      const failedAt = w.clock.nowMs();
      timeline.at(failedAt + w.scenario.timing.failureDetectSeconds * 1000, () => {
        if (h.port.report() !== null || h.failed) return;
        c.declareFailed(h, failedAt);
        c.flush();
        if (w.vms.some((v) => v.lost?.host === id && v.spec.ha && v.wanted)) runGoal(c, planner, 'ha-restart');
      });
    } else if (e.kind === 'host-repair') {
      if (!h.failed) continue;
      c.repair(h);
      c.flush();
    } else {
      maintenance(c, timeline, planner, id, e.untilMs);
    }
  }
}

function maintenance(c: Controller, timeline: Timeline, planner: Planner, id: string, untilMs: number | undefined): void {
  const h = c.world.hostById.get(id)!;
  if (h.failed) return;
  h.plan = 'maintenance';
  h.standbyPending = false;
  c.rec.note(`host ${id} enters maintenance`);
  if (h.vms.size > 0) runGoal(c, planner, { evacuate: id });
  if (untilMs === undefined) return;
  timeline.at(untilMs, () => {
    if (h.failed || h.plan !== 'maintenance') return;
    const power = h.port.power();
    h.plan = power === 'standby' || power === 'entering-standby' ? 'standby' : 'ready';
    c.rec.note(`host ${id} leaves maintenance`);
  });
}
