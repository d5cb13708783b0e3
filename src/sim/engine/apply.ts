// Carries out a plan's actions in order, the way the controller would: each
// is checked against the state the earlier ones left, and an action that is
// not legal now is rejected (counted, with its reason) instead of applied.
// Applying only starts things; how long they take is the hosts' business.
import type { PlanAction, PlanGoal } from '../../core/planner/plan.js';
import type { Controller } from './controller.js';
import type { HostRec, World } from './world.js';

/** A started migration's id comes back, so its plan's next wave can wait for it. */
export type Verdict = { ok: true; migration?: string } | { ok: false; reason: string };
const OK: Verdict = { ok: true };
const no = (reason: string): Verdict => ({ ok: false, reason });

export function applyAction(c: Controller, a: PlanAction, goal: PlanGoal): Verdict {
  const w = c.world;
  switch (a.kind) {
    case 'place':
      return place(c, a.vm, a.host, false);
    case 'restart':
      return place(c, a.vm, a.to, true, a.from);
    case 'migrate':
      return migrate(c, a.vm, a.from, a.to, typeof goal === 'string' ? goal : 'evacuate');
    case 'power-on':
      return powerOn(c, w, a.host, a.atMs);
    case 'standby':
      return standby(c, w, a.host);
    case 'resize':
      return no('simulated VMs keep their size (the simulator does not plan goal grow)');
  }
}

function usable(w: World, id: string): HostRec | Verdict {
  const h = w.hostById.get(id);
  if (!h) return no('unknown host');
  if (h.failed) return no('host failed');
  if (h.plan !== 'ready') return no(`host is ${h.plan}`);
  return h;
}

function place(c: Controller, vmId: string, hostId: string, restart: boolean, from?: string): Verdict {
  const vm = c.world.vmById.get(vmId);
  if (!vm || !vm.wanted) return no('unknown VM');
  if (restart && vm.lost?.host !== from) return no('restart of a VM that was not lost on that host');
  if (!restart && vm.lost) return no('place of a VM lost with its host (restart it)');
  if (vm.host !== null) return no('VM is placed already');
  const h = usable(c.world, hostId);
  if (!('id' in h)) return h;
  if (restart) c.rec.restartOrdered(vm);
  delete vm.lost;
  vm.host = h.id;
  vm.epoch++;
  h.vms.add(vm);
  c.tell(h, vm, { power: 'running', epoch: vm.epoch });
  return OK;
}

function migrate(c: Controller, vmId: string, fromId: string, toId: string, cause: string): Verdict {
  const w = c.world;
  const vm = w.vmById.get(vmId);
  if (!vm || !vm.wanted) return no('unknown VM');
  if (vm.migration) return no('VM is migrating already');
  if (vm.host !== fromId) return no('VM is not on the source host');
  if (!vm.running) return no('VM is not running yet');
  if (fromId === toId) return no('source and target are the same host');
  const from = w.hostById.get(fromId)!;
  const to = w.hostById.get(toId);
  if (!to) return no('unknown host');
  if (to.failed) return no('host failed');
  if (to.plan !== 'ready') return no(`host is ${to.plan}`);
  const id = `m${w.nextMigrationId++}`;
  const now = w.clock.nowMs();
  vm.migration = { id, from: fromId, to: toId, cause, startedAtMs: now, stage: 'prepare' };
  vm.lastMovedAtMs = now;
  from.vms.delete(vm);
  from.leaving.add(vm);
  to.vms.add(vm);
  c.tell(to, vm, { power: 'running', epoch: vm.epoch + 1, migration: { id, role: 'target' } });
  c.tell(from, vm, { power: 'running', epoch: vm.epoch, migration: { id, role: 'source' } });
  c.rec.migrationStarted(vm, cause);
  return { ok: true, migration: id };
}

function powerOn(c: Controller, w: World, hostId: string, atMs?: number): Verdict {
  const h = w.hostById.get(hostId);
  if (!h) return no('unknown host');
  if (h.failed) return no('host failed');
  if (h.plan !== 'standby') return no(`host is ${h.plan}, not standby`);
  if (atMs !== undefined && atMs > w.clock.nowMs()) {
    c.timeline.at(atMs, () => {
      if (h.plan === 'standby' && !h.failed) powerOn(c, w, hostId);
    });
    return OK;
  }
  h.plan = 'ready';
  h.standbyPending = false;
  h.port.powerOn();
  c.touch(h);
  return OK;
}

function standby(c: Controller, w: World, hostId: string): Verdict {
  const h = usable(w, hostId);
  if (!('id' in h)) return h;
  if (h.vms.size > 0) return no(`host still holds ${h.vms.size} VM(s) not moving away`);
  h.plan = 'standby';
  h.standbyPending = true;
  c.touch(h); // powers down on reconcile once empty
  return OK;
}

