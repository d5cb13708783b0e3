// Execution waves for a plan's actions, in their order. An action comes in a
// later wave than any earlier action that moved a VM off its target host (it
// may need the room); a wave holds at most maxMigrations migrations per host
// (as source or target). A power-on comes in wave 0, or after the standby
// of the same host in this plan. A resize comes after the move of its VM in
// this plan (it grows the VM where the move took it).
import type { ExplainedAction } from './plan.js';
import type { ClusterSnapshot } from './snapshot.js';

export function assignWaves(snapshot: ClusterSnapshot, actions: ExplainedAction[], migrationsPerHost: number): void {
  const limit = new Map(snapshot.hosts.map((h) => [h.id, Math.max(1, h.maxMigrations ?? migrationsPerHost)]));
  const lastOut = new Map<string, number>();
  const slept = new Map<string, number>();
  const used = new Map<string, number>();
  const count = (w: number, h: string) => used.get(`${w}\u0000${h}`) ?? 0;
  const after = (h: string) => (lastOut.get(h) ?? -1) + 1;
  const movedIn = new Map<string, number>();
  for (const a of actions) {
    const act = a.action;
    switch (act.kind) {
      case 'power-on':
        a.wave = (slept.get(act.host) ?? -1) + 1;
        break;
      case 'place':
      case 'restart':
        a.wave = after(act.kind === 'place' ? act.host : act.to);
        break;
      case 'standby':
        a.wave = after(act.host);
        slept.set(act.host, a.wave);
        break;
      case 'resize':
        a.wave = Math.max(after(act.host), (movedIn.get(act.vm) ?? -1) + 1);
        break;
      case 'migrate': {
        let w = after(act.to);
        while (count(w, act.from) >= (limit.get(act.from) ?? 1) || count(w, act.to) >= (limit.get(act.to) ?? 1)) w++;
        used.set(`${w}\u0000${act.from}`, count(w, act.from) + 1);
        used.set(`${w}\u0000${act.to}`, count(w, act.to) + 1);
        lastOut.set(act.from, Math.max(lastOut.get(act.from) ?? -1, w));
        movedIn.set(act.vm, w);
        a.wave = w;
        break;
      }
    }
  }
}
