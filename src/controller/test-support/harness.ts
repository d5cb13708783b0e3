// Starts a real controller in-process (real SQLite file, real HTTP server on
// 127.0.0.1:0) with a fake agent joined to it, for the controller's tests.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { DroverClient } from '../../api/client.js';
import { startController, type ControllerOptions, type RunningController } from '../controller.js';
import { FakeAgent } from './fake-agent.js';

export interface TestBed {
  stateDir: string;
  ctl: RunningController;
  client: DroverClient;
  agent: FakeAgent;
  /** Stops the controller (as SIGTERM would) and starts a new one on the same state dir. */
  restart(): Promise<void>;
  stop(): Promise<void>;
}

const TEST_TIMEOUTS = { volumesMs: 10_000, startMs: 10_000, stopMs: 10_000, pauseMs: 10_000, deleteMs: 10_000, rollbackMs: 3_000 };

export async function startTestBed(opts: { join?: boolean; options?: Partial<ControllerOptions> } = {}): Promise<TestBed> {
  const stateDir = mkdtempSync(join(tmpdir(), 'drover-ctl-'));
  const start = () => startController({ stateDir, port: 0, log: pino({ level: process.env.DROVER_TEST_LOG ?? 'silent' }), timeouts: TEST_TIMEOUTS, ...opts.options });
  const ctl = await start();
  const agent = new FakeAgent(ctl.url);
  await agent.start();
  const bed: TestBed = {
    stateDir,
    ctl,
    client: new DroverClient({ baseUrl: ctl.url, token: ctl.secrets.adminToken, timeoutMs: 15_000 }),
    agent,
    async restart() {
      await bed.ctl.close();
      bed.ctl = await start();
      bed.client = new DroverClient({ baseUrl: bed.ctl.url, token: bed.ctl.secrets.adminToken, timeoutMs: 15_000 });
      agent.controllerUrl = bed.ctl.url;
    },
    async stop() {
      agent.stopConverging();
      await agent.stop();
      await bed.ctl.close();
      rmSync(stateDir, { recursive: true, force: true });
    },
  };
  if (opts.join !== false) {
    await agent.join(ctl.secrets.joinToken);
    await agent.report();
  }
  return bed;
}

/** Another fake agent, started and joined to the bed's controller as host `name` (it has not reported yet). */
export async function joinAgent(bed: TestBed, name: string): Promise<FakeAgent> {
  const a = new FakeAgent(bed.ctl.url);
  await a.start();
  await a.join(bed.ctl.secrets.joinToken, name);
  return a;
}

export { eventually } from './poll.js';
