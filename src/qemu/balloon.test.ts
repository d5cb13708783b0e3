import { afterEach, describe, expect, it } from 'vitest';
import { BALLOON_QOM_PATH, guestStatsFromReply, queryBalloonMiB, queryGuestStats, setBalloonMiB, setGuestStatsPolling, type GuestStatsReply } from './balloon.js';
import { sendQmp, startFakeQmp, type FakeQmpCommand } from './test-support/fake-qmp.js';
import { QmpClient, QmpCommandError } from './qmp-client.js';

type Command = FakeQmpCommand;
/** What the fake QEMU answers: a return value, or an error {class, desc}. */
type Answer = { return: unknown } | { error: { class: string; desc: string } };

const MiB = 1024 ** 2;
/** What QEMU 7.2 really sends for an unknown value: -1 as an unsigned 64-bit number. */
const UNKNOWN = 18446744073709551615;

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const fn of cleanups.splice(0).reverse()) await fn();
});

/** A fake QEMU that answers each command with answer(cmd); `received` leaves out qmp_capabilities. */
async function connect(answer: (cmd: Command) => Answer): Promise<{ qmp: QmpClient; received: Command[] }> {
  const fake = await startFakeQmp((cmd, conn) => sendQmp(conn, { ...answer(cmd), id: cmd.id }), cleanups, { skipCapabilities: true });
  const qmp = await QmpClient.connect(fake.path, { timeoutMs: 2000 });
  cleanups.push(() => qmp.close());
  return { qmp, received: fake.received };
}

/** A guest-stats reply as QEMU 7.2 gives it for a Linux guest with 256 MiB. */
const REPLY: GuestStatsReply = {
  stats: {
    'stat-swap-in': 3 * MiB,
    'stat-swap-out': 0,
    'stat-major-faults': 235,
    'stat-minor-faults': 219028,
    'stat-free-memory': 150 * MiB,
    'stat-total-memory': 230 * MiB,
    'stat-available-memory': 180 * MiB,
    'stat-disk-caches': 20 * MiB,
    'stat-htlb-pgalloc': 0,
    'stat-htlb-pgfail': 0,
  },
  'last-update': 1_700_000_000,
};

describe('guest statistics', () => {
  it('enables polling with qom-set on the balloon device', async () => {
    const { qmp, received } = await connect(() => ({ return: {} }));
    await setGuestStatsPolling(qmp, 5);
    await setGuestStatsPolling(qmp, 0);
    expect(received.map((c) => [c.execute, c.arguments])).toEqual([
      ['qom-set', { path: '/machine/peripheral/balloon0', property: 'guest-stats-polling-interval', value: 5 }],
      ['qom-set', { path: BALLOON_QOM_PATH, property: 'guest-stats-polling-interval', value: 0 }],
    ]);
    await expect(setGuestStatsPolling(qmp, 1.5)).rejects.toThrow(/whole seconds/);
  });

  it('reads guest-stats with qom-get and converts bytes to MiB and seconds to ms', async () => {
    const { qmp, received } = await connect(() => ({ return: REPLY }));
    await expect(queryGuestStats(qmp)).resolves.toEqual({ freeMiB: 150, availableMiB: 180, totalMiB: 230, majorFaults: 235, swapInMiB: 3, atMs: 1_700_000_000_000 });
    expect(received[0]).toMatchObject({ execute: 'qom-get', arguments: { path: BALLOON_QOM_PATH, property: 'guest-stats' } });
  });

  it('gives null before the guest ever reported, and fails as QEMU does without a balloon', async () => {
    const { qmp } = await connect((cmd) =>
      cmd.arguments?.path === BALLOON_QOM_PATH
        ? { return: { stats: { 'stat-free-memory': UNKNOWN, 'stat-total-memory': UNKNOWN, 'stat-available-memory': UNKNOWN }, 'last-update': 0 } }
        : { error: { class: 'DeviceNotFound', desc: `Device '${String(cmd.arguments?.path)}' not found` } },
    );
    await expect(queryGuestStats(qmp)).resolves.toBeNull();
    await expect(queryGuestStats(qmp, '/machine/peripheral/nope')).rejects.toBeInstanceOf(QmpCommandError);
  });
});

describe('guestStatsFromReply', () => {
  it('leaves out what the guest does not report (-1 in the docs, 2^64 - 1 on the wire)', () => {
    const stats = { ...REPLY.stats, 'stat-major-faults': UNKNOWN, 'stat-swap-in': -1 };
    expect(guestStatsFromReply({ ...REPLY, stats })).toEqual({ freeMiB: 150, availableMiB: 180, totalMiB: 230, atMs: 1_700_000_000_000 });
  });
  it('takes free memory for available memory from a guest that does not report it', () => {
    expect(guestStatsFromReply({ ...REPLY, stats: { ...REPLY.stats, 'stat-available-memory': UNKNOWN } })?.availableMiB).toBe(150);
  });
  it('gives null without free or total memory', () => {
    expect(guestStatsFromReply({ ...REPLY, stats: { ...REPLY.stats, 'stat-total-memory': UNKNOWN } })).toBeNull();
    expect(guestStatsFromReply({ ...REPLY, stats: { ...REPLY.stats, 'stat-free-memory': -1 } })).toBeNull();
    expect(guestStatsFromReply({ stats: {}, 'last-update': 5 })).toBeNull();
  });
});

describe('balloon size in MiB', () => {
  it('reads and sets the balloon through query-balloon and balloon', async () => {
    const { qmp, received } = await connect((cmd) => (cmd.execute === 'query-balloon' ? { return: { actual: 256 * MiB + 5 } } : { return: {} }));
    await expect(queryBalloonMiB(qmp)).resolves.toBe(256);
    await setBalloonMiB(qmp, 160);
    expect(received.map((c) => [c.execute, c.arguments])).toEqual([['query-balloon', undefined], ['balloon', { value: 160 * MiB }]]);
    await expect(setBalloonMiB(qmp, 0)).rejects.toThrow(RangeError);
  });
});
