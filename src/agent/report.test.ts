import pino from 'pino';
import { describe, expect, it } from 'vitest';
import type { HostReport } from '../api/agent-protocol.js';
import { Reporter } from './report.js';

const report: HostReport = { inventory: { hostname: 'h', cpus: 1, memoryMiB: 1, kvm: false, qemuVersion: '7.2.0', freeDiskBytes: 1, agentVersion: '0' }, vms: [], images: [] };
const silent = pino({ level: 'silent' });
const tick = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('Reporter', () => {
  it('coalesces changes within the debounce window into one report', async () => {
    let sent = 0;
    const r = new Reporter(async () => report, async () => void sent++, silent, { intervalMs: 60_000, debounceMs: 20 });
    r.start();
    await tick(10);
    sent = 0;
    for (let i = 0; i < 5; i++) r.soon();
    await tick(60);
    r.stop();
    expect(sent).toBe(1);
  });

  it('keeps one report in flight and sends one more for changes during it', async () => {
    let inFlight = 0;
    let maxInFlight = 0;
    let sent = 0;
    const send = async () => {
      inFlight++;
      maxInFlight = Math.max(maxInFlight, inFlight);
      await tick(30);
      inFlight--;
      sent++;
    };
    const r = new Reporter(async () => report, send, silent, { intervalMs: 60_000 });
    const first = r.kick();
    void r.kick();
    void r.kick();
    await first;
    expect(maxInFlight).toBe(1);
    expect(sent).toBe(2);
  });

  it('survives a controller that is down', async () => {
    let calls = 0;
    const r = new Reporter(async () => report, async () => {
      calls++;
      throw new Error('ECONNREFUSED');
    }, silent);
    await r.kick();
    await r.kick();
    expect(calls).toBe(2);
  });
});
