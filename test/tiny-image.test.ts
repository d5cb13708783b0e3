// Real boot of the tiny guest under QEMU (TCG here). Builds the image into
// ~/.cache/drover/images (reused across runs), so the first run downloads the kernel.
import { describe, it, expect, beforeAll } from 'vitest';
import { open } from 'node:fs/promises';
import { homedir } from 'node:os';
import path from 'node:path';
import { bootGuest, type BootedGuest } from '../src/image/boot-check.js';
import type { ImageManifest } from '../src/image/manifest.js';
import { buildTinyImage } from '../src/image/tiny-build.js';

const imagesDir = path.join(homedir(), '.cache/drover/images');
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

interface Info {
  hostname: string;
  bootId: string;
  uptimeSeconds: number;
  cpusOnline: number;
  memTotalKiB: number;
}

async function info(guest: BootedGuest): Promise<Info> {
  const res = await guest.http('/info');
  expect(res.status).toBe(200);
  expect(res.contentType).toBe('application/json');
  return JSON.parse(res.body) as Info;
}

async function firstSector(file: string): Promise<string> {
  const fh = await open(file, 'r');
  try {
    const buf = Buffer.alloc(512);
    await fh.read(buf, 0, 512, 0);
    return buf.toString('latin1');
  } finally {
    await fh.close();
  }
}

describe('tiny guest boot', () => {
  let image: ImageManifest;

  beforeAll(async () => {
    image = await buildTinyImage({ imagesDir });
  }, 300_000);

  it('boots to DROVER-READY and serves health, info and the disk counter', async () => {
    const guest = await bootGuest({ imagesDir, image, smp: '2', hostname: 'boot-test', dataDiskMiB: 16 });
    try {
      const ready = await guest.waitReady(90_000);
      const health = await guest.http('/health');
      expect(health).toMatchObject({ status: 200, body: 'ok' });

      const i = await info(guest);
      expect(i.hostname).toBe('boot-test');
      expect(ready).toBe(`DROVER-READY boot_id=${i.bootId}`);
      expect(i.cpusOnline).toBe(2);
      expect(i.memTotalKiB).toBeGreaterThan(150 * 1024);
      expect(i.memTotalKiB).toBeLessThanOrEqual(256 * 1024);

      expect(JSON.parse((await guest.http('/counter?value=7')).body)).toEqual({ written: 7, dev: 'vdb' });
      expect(JSON.parse((await guest.http('/counter')).body)).toEqual({ value: 7, dev: 'vdb' });
      // Flushed before the answer: the host sees it in the disk file.
      expect(await firstSector(guest.dataDisk!)).toMatch(/^7\n\0+$/);
      expect((await guest.http('/counter?value=x')).status).toBe(400);
    } finally {
      await guest.stop();
    }
  }, 120_000);

  it('onlines a hot-added vCPU and powers off on the ACPI power button', async () => {
    const guest = await bootGuest({ imagesDir, image, smp: '2,maxcpus=4' });
    try {
      await guest.waitReady(90_000);
      expect((await info(guest)).cpusOnline).toBe(2);
      const slots = (await guest.qmp('query-hotpluggable-cpus')) as Array<{ type: string; props: Record<string, number>; 'qom-path'?: string }>;
      const free = slots.find((s) => s['qom-path'] === undefined)!;
      await guest.qmp('device_add', { driver: free.type, id: 'cpu-hot1', ...free.props });
      // Boots with 2 vCPUs: under TCG, a 1-vCPU guest stalls 10-30 s when its second vCPU
      // comes online (kernel switching to SMP mode); the third one takes about a second.
      const deadline = Date.now() + 80_000;
      let online = 2;
      while (online < 3 && Date.now() < deadline) {
        await sleep(500);
        online = (await info(guest)).cpusOnline;
      }
      expect(online).toBe(3);

      await guest.qmp('system_powerdown');
      expect(await guest.waitExit(20_000)).toBe(true);
      expect(await guest.readSerial()).toMatch(/power button pressed/);
    } finally {
      await guest.stop();
    }
  }, 150_000);
});
