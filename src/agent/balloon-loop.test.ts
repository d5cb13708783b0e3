import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { QmpCommandError, type QmpClient } from '../qemu/qmp-client.js';
import type { HostMemory } from '../host/meminfo.js';
import { BalloonLoop, type BalloonChange, type BalloonLoopOptions, type BalloonVm } from './balloon-loop.js';

const MiB = 1024 ** 2;
const tick = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A QEMU with a balloon and a guest that uses `usedMiB`, behind a fake QMP client. */
class FakeVm {
  readonly calls: [string, unknown][] = [];
  actualMiB: number;
  majorFaults = 0;
  faultsPerRead = 0;
  noBalloon = false;
  hang = false;
  readonly qmp: QmpClient;

  constructor(
    readonly id: string,
    readonly configuredMiB: number,
    public usedMiB: number,
    private readonly clock: { now: number },
  ) {
    this.actualMiB = configuredMiB;
    this.qmp = { execute: (cmd: string, args?: Record<string, unknown>) => this.execute(cmd, args) } as unknown as QmpClient;
  }

  get vm(): BalloonVm {
    return { id: this.id, configuredMiB: this.configuredMiB, qmp: this.qmp };
  }

  private async execute(cmd: string, args?: Record<string, unknown>): Promise<unknown> {
    this.calls.push([cmd, args]);
    if (this.hang) return new Promise(() => {});
    if (this.noBalloon) throw new QmpCommandError(cmd, 'DeviceNotFound', "Device '/machine/peripheral/balloon0' not found");
    switch (cmd) {
      case 'qom-set':
        return {};
      case 'qom-get': {
        this.majorFaults += this.faultsPerRead;
        const available = (this.actualMiB - this.usedMiB) * MiB;
        const stats = { 'stat-free-memory': available, 'stat-available-memory': available, 'stat-total-memory': this.configuredMiB * MiB, 'stat-major-faults': this.majorFaults };
        return { stats, 'last-update': Math.floor((this.clock.now - 1000) / 1000) };
      }
      case 'query-balloon':
        return { actual: this.actualMiB * MiB };
      case 'balloon':
        this.actualMiB = (args?.value as number) / MiB;
        return {};
      default:
        throw new QmpCommandError(cmd, 'CommandNotFound', `The command ${cmd} has not been found`);
    }
  }

  commands(name: string): unknown[] {
    return this.calls.filter(([c]) => c === name).map(([, a]) => a);
  }
}

interface Line {
  level: number;
  msg: string;
  vm?: string;
}

function setup(vms: FakeVm[], host: HostMemory, extra: Partial<BalloonLoopOptions> = {}) {
  const clock = { now: 0 };
  const lines: Line[] = [];
  const changes: BalloonChange[] = [];
  const log = pino({ level: 'debug' }, { write: (s: string) => void lines.push(JSON.parse(s) as Line) });
  const list = { vms };
  const loop = new BalloonLoop({
    vms: { list: () => list.vms.map((v) => v.vm) },
    log,
    hostMemory: async () => ({ ...host }),
    now: () => clock.now,
    onChange: (c) => changes.push(c),
    ...extra,
  });
  return { loop, lines, changes, clock, list, host, messages: (level?: number) => lines.filter((l) => level === undefined || l.level === level).map((l) => l.msg) };
}

const WARN = 40;
const INFO = 30;

describe('BalloonLoop', () => {
  it('enables guest statistics once per QEMU, inflates under pressure with the reason, and waits out the cooldown', async () => {
    const clock = { now: 1_000_000 };
    const a = new FakeVm('a', 1024, 100, clock);
    const t = setup([a], { totalMiB: 8192, availableMiB: 800 });
    t.clock.now = clock.now;
    const step = async (ms: number) => {
      clock.now += ms;
      t.clock.now = clock.now;
      return t.loop.round();
    };

    const plan = await t.loop.round();
    expect(plan?.underPressure).toBe(true);
    expect(a.commands('qom-set')).toEqual([{ path: '/machine/peripheral/balloon0', property: 'guest-stats-polling-interval', value: 5 }]);
    expect(a.commands('balloon')).toEqual([{ value: 896 * MiB }]);
    expect(t.changes).toEqual([expect.objectContaining({ vmId: 'a', fromMiB: 1024, targetMiB: 896, kind: 'inflate-pressure', atMs: 1_000_000 })]);
    expect(t.messages(WARN)).toEqual(['host memory pressure: host available 800 MiB < 15% of 8192 MiB']);
    expect(t.messages(INFO)).toEqual([
      'balloon: host available 800 MiB < 15% of 8192 MiB; vm a uses 100 of 1024 MiB (keeps 103 MiB headroom + 52 MiB, floor 256 MiB): balloon to 896 MiB',
    ]);

    await step(10_000);
    await step(10_000);
    expect(a.commands('balloon')).toHaveLength(1); // cooldown (30 s)
    await step(10_000);
    expect(a.commands('balloon')).toEqual([{ value: 896 * MiB }, { value: 768 * MiB }]);
    expect(a.commands('qom-set')).toHaveLength(1);
  });

  it('gives memory back once the pressure is over, and says so once', async () => {
    const clock = { now: 1_000_000 };
    const a = new FakeVm('a', 1024, 100, clock);
    a.actualMiB = 512;
    const t = setup([a], { totalMiB: 8192, availableMiB: 800 });
    t.clock.now = clock.now;
    await t.loop.round();
    t.host.availableMiB = 4000;
    const later = async () => {
      clock.now += 40_000;
      t.clock.now = clock.now;
      await t.loop.round();
    };
    await later();
    await later();
    expect(a.commands('balloon')).toEqual([{ value: 384 * MiB }, { value: 512 * MiB }, { value: 640 * MiB }]);
    expect(t.changes.map((c) => c.kind)).toEqual(['inflate-pressure', 'deflate-relax', 'deflate-relax']);
    expect(t.messages(INFO).filter((m) => m.startsWith('host memory pressure over'))).toEqual(['host memory pressure over: host available 4000 MiB > 25% of 8192 MiB']);
  });

  it('deflates a guest whose major faults rise, from the statistics of two rounds', async () => {
    const clock = { now: 1_000_000 };
    const a = new FakeVm('a', 1024, 300, clock);
    a.actualMiB = 640;
    a.faultsPerRead = 5000; // 500 per second over 10 s rounds
    const t = setup([a], { totalMiB: 8192, availableMiB: 1500 }); // between the levels: no give-back
    t.clock.now = clock.now;
    await t.loop.round();
    expect(a.commands('balloon')).toEqual([]);
    clock.now += 10_000;
    t.clock.now = clock.now;
    await t.loop.round();
    expect(t.changes).toEqual([expect.objectContaining({ vmId: 'a', kind: 'deflate-needy', targetMiB: 768, reason: 'vm a has 500 major faults/s > 100 (host available 1500 MiB): balloon up from 640 MiB to 768 MiB' })]);
  });

  it('leaves out a VM without a balloon and one whose QEMU does not answer, and serves the others', async () => {
    const clock = { now: 1_000_000 };
    const none = new FakeVm('none', 1024, 100, clock);
    none.noBalloon = true;
    const hung = new FakeVm('hung', 1024, 100, clock);
    hung.hang = true;
    const ok = new FakeVm('ok', 1024, 100, clock);
    const t = setup([none, hung, ok], { totalMiB: 8192, availableMiB: 800 }, { vmTimeoutMs: 50 });
    t.clock.now = clock.now;
    await t.loop.round();
    await t.loop.round();
    expect(ok.commands('balloon')).toEqual([{ value: 896 * MiB }]);
    expect(none.calls).toHaveLength(1); // not asked again
    expect(t.messages(INFO).filter((m) => m.includes('has no balloon'))).toEqual([
      "vm none has no balloon (Device '/machine/peripheral/balloon0' not found): left out of the balloon policy",
    ]);
    expect(t.messages(WARN).filter((m) => m.startsWith('vm hung'))).toEqual(['vm hung: cannot read its balloon: vm hung: no QMP answer within 50 ms']);
  });

  it('starts afresh when a VM gets a new QEMU, and forgets VMs that are gone', async () => {
    const clock = { now: 1_000_000 };
    const a = new FakeVm('a', 1024, 100, clock);
    const t = setup([a], { totalMiB: 8192, availableMiB: 800 });
    t.clock.now = clock.now;
    await t.loop.round();
    expect(a.commands('balloon')).toHaveLength(1);
    const restarted = new FakeVm('a', 1024, 100, clock);
    t.list.vms = [restarted];
    clock.now += 2000;
    t.clock.now = clock.now;
    await t.loop.round();
    expect(restarted.commands('qom-set')).toHaveLength(1);
    expect(restarted.commands('balloon')).toEqual([{ value: 896 * MiB }]); // no cooldown carried over
    t.list.vms = [];
    await expect(t.loop.round()).resolves.toMatchObject({ targets: [], leftAlone: [] });
  });

  it('logs once when a needy guest cannot be served, and when a guest has no statistics', async () => {
    const clock = { now: 1_000_000 };
    const needy = new FakeVm('needy', 1024, 250, clock);
    needy.actualMiB = 256;
    const quiet = new FakeVm('quiet', 1024, 100, clock);
    const t = setup([needy, quiet], { totalMiB: 8192, availableMiB: 200 });
    t.clock.now = clock.now + 120_000; // the statistics are two minutes old for both
    await t.loop.round();
    t.clock.now = clock.now;
    await t.loop.round();
    await t.loop.round();
    expect(t.messages(INFO).filter((m) => m.startsWith('balloon left alone'))).toEqual([
      'balloon left alone: vm needy: guest statistics are 121 s old (guest paused or not answering)',
      'balloon left alone: vm quiet: guest statistics are 121 s old (guest paused or not answering)',
    ]);
    expect(t.messages(WARN).filter((m) => m.startsWith('balloon:'))).toEqual([
      'balloon: vm needy has 6 MiB available < 103 MiB headroom, but host available 200 MiB leaves nothing to give above 256 MiB',
    ]);
  });

  it('runs rounds on its interval and stops cleanly, waiting for the round in flight', async () => {
    const clock = { now: Date.now() };
    const a = new FakeVm('a', 1024, 100, clock);
    let reads = 0;
    const t = setup([a], { totalMiB: 8192, availableMiB: 800 }, {
      intervalMs: 20,
      now: () => Date.now(),
      hostMemory: async () => {
        reads++;
        return { totalMiB: 8192, availableMiB: 800 };
      },
    });
    t.loop.start();
    t.loop.start(); // a second start does not start a second chain of rounds
    while (reads < 3) await tick(5);
    await t.loop.stop();
    const seen = reads;
    await tick(60);
    expect(reads).toBe(seen);

    // Stopped mid-round: stop() waits for the round, which sends no balloon command any more.
    const b = new FakeVm('b', 1024, 100, clock);
    let entered = (): void => {};
    const inRound = new Promise<void>((r) => (entered = r));
    let release = (): void => {};
    const gate = new Promise<void>((r) => (release = r));
    const u = setup([b], { totalMiB: 8192, availableMiB: 800 }, {
      hostMemory: async () => {
        entered();
        await gate;
        return { totalMiB: 8192, availableMiB: 800 };
      },
    });
    u.loop.start();
    await inRound;
    let stopped = false;
    const stopping = u.loop.stop().then(() => (stopped = true));
    await tick(5);
    expect(stopped).toBe(false);
    release();
    await stopping;
    expect(b.commands('query-balloon')).toHaveLength(1);
    expect(b.commands('balloon')).toEqual([]);
  });
});
