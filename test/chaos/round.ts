// One chaos round: inject a fault, undo it, wait until the cluster settles
// (every host Ready, every HA VM Running with one QEMU and its guest
// answering), then judge what happened. Violations are what must never
// happen: two QEMUs of one VM, an acknowledged write lost, a VM that does
// not run again. Anomalies are wrong but not unsafe: a failover where none
// was due (false failover), a VM restarted more than once, a VM of a failed
// host that did not move.
import type { Vm } from '../../src/api/resources.js';
import { readCounter } from '../guest-counter.js';
import { qemusOf } from '../harness.js';
import type { ChaosCluster } from './cluster.js';
import type { Fault } from './faults.js';

export interface RoundResult {
  round: number;
  fault: string;
  targets: string[];
  /** VMs run again elsewhere (epoch changed). */
  failedOver: string[];
  violations: string[];
  anomalies: string[];
  falseFailovers: number;
  /** Fault start -> settled. */
  recoverMs: number;
}

const SETTLE_MS = 240_000;
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

export async function runRound(c: ChaosCluster, round: number, fault: Fault, targets: string[]): Promise<RoundResult> {
  const client = c.client();
  const before = new Map((await client.call('listVms')).map((v) => [v.name, v]));
  const hostsBefore = new Map([...c.hostOf.entries()]);
  const problemsBefore = new Map(c.vms.map((vm) => [vm.name, vm.counter.problems.length]));
  c.takeSamplerViolations();
  const startedAt = performance.now();
  const jobsBefore = new Set((await client.call('listJobs')).map((j) => j.id));
  const failoverStarted = async () => {
    const deadline = Date.now() + 60_000;
    while (Date.now() < deadline) {
      const jobs = await c.client().call('listJobs').catch(() => []);
      if (jobs.some((j) => j.kind === 'ha.failover' && !jobsBefore.has(j.id))) return;
      await sleep(100);
    }
    throw new Error('no failover started within 60 s');
  };
  // Every hit host failed over (its job, or the job it shares with another, ended), or capMs passed.
  const failoverEnded = async (capMs: number) => {
    const deadline = Date.now() + capMs;
    while (Date.now() < deadline) {
      const jobs = await c.client().call('listJobs').catch(() => []);
      const ended = jobs.filter((j) => j.kind === 'ha.failover' && !jobsBefore.has(j.id) && (j.state === 'succeeded' || j.state === 'failed'));
      const covered = new Set(ended.flatMap((j) => j.target.split(', ')));
      if (targets.every((t) => covered.has(t))) return;
      await sleep(200);
    }
  };
  const violations: string[] = [];
  try {
    await fault.run({ tb: c.tb, targets, sleep, failoverStarted, failoverEnded });
  } catch (err) {
    violations.push(`the fault itself failed: ${(err as Error).message}`);
  }
  const settled = await settle(c);
  const recoverMs = Math.round(performance.now() - startedAt);
  if (!settled.ok) violations.push(`not settled after ${SETTLE_MS / 1000} s: ${settled.why}`);
  violations.push(...c.takeSamplerViolations());
  for (const vm of c.vms) {
    violations.push(...vm.counter.problems.slice(problemsBefore.get(vm.name) ?? 0).map((p) => `${vm.name}: ${p}`));
    const acked = vm.counter.acked;
    const onDisk = await readCounter(c.baseOf(vm));
    if (onDisk === undefined) violations.push(`${vm.name}: its guest does not answer /counter after the round`);
    else if (onDisk < acked) violations.push(`${vm.name}: the disk holds ${onDisk}, the guest had acknowledged ${acked}`);
  }
  const after = new Map(settled.vms.map((v) => [v.name, v]));
  const judged = judgeMoves(fault, targets, before, after, hostsBefore);
  return { round, fault: fault.name, targets, ...judged, violations, recoverMs };
}

function judgeMoves(fault: Fault, targets: string[], before: Map<string, Vm>, after: Map<string, Vm>, hostsBefore: Map<string, string>) {
  const failedOver: string[] = [];
  const anomalies: string[] = [];
  let falseFailovers = 0;
  for (const [name, b] of before) {
    const a = after.get(name);
    if (!a) continue;
    const moved = a.epoch !== b.epoch;
    const wasOnTarget = targets.includes(hostsBefore.get(name) ?? '');
    if (moved) failedOver.push(name);
    if (moved && (!fault.failover || !wasOnTarget)) {
      falseFailovers++;
      anomalies.push(`${name} restarted (epoch ${b.epoch} -> ${a.epoch}) though ${fault.failover ? 'its host was not hit' : `${fault.name} must not fail over`}`);
    } else if (moved && a.epoch > b.epoch + 1) {
      anomalies.push(`${name} restarted more than once (epoch ${b.epoch} -> ${a.epoch})`);
    } else if (!moved && fault.failover && wasOnTarget) {
      anomalies.push(`${name} was on a failed host (${hostsBefore.get(name)}) but was not restarted elsewhere`);
    }
  }
  return { failedOver, anomalies, falseFailovers };
}

/** Waits until every host is Ready and every VM Running with exactly one QEMU and a guest that answers. */
async function settle(c: ChaosCluster): Promise<{ ok: true; vms: Vm[] } | { ok: false; why: string; vms: Vm[] }> {
  const deadline = Date.now() + SETTLE_MS;
  let why = '';
  let vms: Vm[] = [];
  while (Date.now() < deadline) {
    try {
      const client = c.client();
      const [hosts, list] = await Promise.all([client.call('listHosts'), client.call('listVms')]);
      vms = list;
      const notReady = hosts.filter((h) => h.state !== 'Ready').map((h) => `${h.name} ${h.state}`);
      const notRunning = c.vms.flatMap((vm) => {
        const v = list.find((x) => x.name === vm.name);
        const n = qemusOf(c.tb.dir, vm.id).length;
        return v?.phase === 'Running' && n === 1 ? [] : [`${vm.name} ${v?.phase ?? 'gone'} with ${n} QEMU(s)`];
      });
      why = [...notReady, ...notRunning].join(', ');
      if (!why) {
        const silent: string[] = [];
        for (const vm of c.vms) if ((await readCounter(c.baseOf(vm))) === undefined) silent.push(`${vm.name} does not answer`);
        why = silent.join(', ');
        if (!why) return { ok: true, vms };
      }
    } catch (err) {
      why = `the controller does not answer: ${(err as Error).message}`;
    }
    await sleep(500);
  }
  return { ok: false, why, vms };
}
