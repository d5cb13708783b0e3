// `drover image list|build|import`.
import { Command } from 'commander';
import type { Image, Job } from '../../api/resources.js';
import { action, type Ctx } from '../context.js';
import { writeLine, type CliIo } from '../io.js';
import { age, formatBytes, printJson, printTable, UsageError } from '../output.js';
import { buildImportRequest, type ImportOptions } from '../parse.js';
import { ProgressDisplay } from '../progress.js';
import { jobStartedLine, waitForJob } from '../wait.js';

const RECIPES = ['tiny'] as const;

export function imageCommand(io: CliIo): Command {
  const image = new Command('image').description('Guest images');
  image.command('list').alias('ls').description('List images').action(action(io, listImages));
  image.command('build')
    .description('Build an image from its recipe on every host')
    .argument('[recipe]', `recipe to build (${RECIPES.join(', ')})`, 'tiny')
    .option('--force', 'rebuild even when it is cached')
    .option('--no-wait', 'return once the job is accepted')
    .action(action(io, buildImage));
  image.command('import')
    .description('Import a disk file (qcow2/raw) or a kernel+initrd pair as an image')
    .argument('<name>', "image name: 1-63 lowercase letters, digits and '-'")
    .option('--file <path>', 'a qcow2 or raw disk file')
    .option('--kernel <path>', 'a kernel (bzImage), with --initrd')
    .option('--initrd <path>', 'an initrd, with --kernel')
    .option('--cmdline <str>', 'kernel command line, with --kernel')
    .option('--no-wait', 'return once the job is accepted')
    .action(action(io, importImage));
  return image;
}

async function listImages(ctx: Ctx): Promise<void> {
  const images = await ctx.client().call('listImages');
  if (ctx.json) return printJson(ctx.io.stdout, images);
  printTable(ctx.io.stdout, ['name', 'kind', 'source', 'size', 'disk', 'kernel', 'hosts', 'age'], images.map(imageRow), 'No images. Build one: drover image build tiny');
}

function imageRow(i: Image): Array<string | number | undefined> {
  const disk = i.diskVirtualSizeBytes === undefined ? undefined : formatBytes(i.diskVirtualSizeBytes);
  return [i.name, i.kind, i.source, formatBytes(i.sizeBytes), disk, i.kernelVersion, i.hosts.length, age(i.createdAt)];
}

async function buildImage(ctx: Ctx, opts: { force?: boolean; wait: boolean }, recipe: string): Promise<void> {
  if (recipe !== 'tiny') throw new UsageError(`unknown image recipe "${recipe}"`, 'RECIPE', RECIPES.join(', '));
  const job = await ctx.client().call('buildImage', { body: opts.force ? { name: recipe, force: true } : { name: recipe } });
  await finish(ctx, job, opts.wait, `Building image ${recipe}`);
}

async function importImage(ctx: Ctx, opts: ImportOptions & { wait: boolean }, name: string): Promise<void> {
  const body = buildImportRequest(name, opts, ctx.io.cwd);
  const job = await ctx.client().call('importImage', { body });
  await finish(ctx, job, opts.wait, `Importing image ${name}`);
}

async function finish(ctx: Ctx, job: Job, wait: boolean, title: string): Promise<void> {
  if (!wait) {
    if (ctx.json) return printJson(ctx.io.stdout, job);
    return writeLine(ctx.io.stdout, jobStartedLine(job));
  }
  const done = await waitForJob(ctx, job, title, new ProgressDisplay(ctx.io.stderr));
  const image = (await ctx.client().call('listImages')).find((i) => i.name === done.target);
  if (ctx.json) return printJson(ctx.io.stdout, { job: done, image });
  if (!image) return writeLine(ctx.io.stdout, `Job ${done.id} ${done.state}`);
  writeLine(ctx.io.stdout, `Image ${image.name} is ready on ${image.hosts.length} host(s): ${image.kind}, ${formatBytes(image.sizeBytes)}${image.kernelVersion ? `, kernel ${image.kernelVersion}` : ''}`);
}
