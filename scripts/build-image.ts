// Builds (or verifies the cache of) the tiny guest image with a progress bar.
// Used by `npm test` so the integration tests share one cached build; users
// normally build through the API with `drover image build tiny`.
import { homedir } from 'node:os';
import { join } from 'node:path';
import cliProgress from 'cli-progress';
import { buildTinyImage } from '../src/image/tiny-build.js';

const imagesDir = process.env.DROVER_IMAGES_DIR ?? join(homedir(), '.cache', 'drover', 'images');
const bar = new cliProgress.SingleBar(
  { format: 'tiny image  [{bar}] {percentage}%  {step}', hideCursor: true, noTTYOutput: !process.stdout.isTTY, notTTYSchedule: 5000 },
  cliProgress.Presets.shades_classic,
);
bar.start(100, 0, { step: 'checking cache' });
try {
  const m = await buildTinyImage({
    imagesDir,
    onProgress: (p) => bar.update(p.total > 0 ? Math.round((p.done / p.total) * 100) : 0, { step: p.message ?? p.step }),
  });
  bar.update(100, { step: `ready (kernel ${m.kernelVersion ?? '?'})` });
  bar.stop();
} catch (err) {
  bar.stop();
  console.error(`error: ${(err as Error).message}`);
  process.exit(1);
}
