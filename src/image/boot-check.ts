// Boots a kernel-kind image (the tiny guest) under QEMU for checks and tests: serial to a
// file, QMP on a unix socket, guest port 80 forwarded to a free 127.0.0.1 port.
// Run directly (`npx tsx src/image/boot-check.ts [imagesDir]`) to build, boot and probe once.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { createServer, createConnection } from 'node:net';
import { homedir, tmpdir } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { detectHostCaps } from '../qemu/caps.js';
import { imageDir, type ImageManifest } from './manifest.js';
import { runCommand } from './run-command.js';

export interface BootOptions {
  imagesDir: string;
  image: ImageManifest;
  /** e.g. "2" or "1,maxcpus=4" */
  smp?: string;
  memory?: string;
  hostname?: string;
  /** Size of a blank raw data disk attached as /dev/vdb; none when 0. */
  dataDiskMiB?: number;
  /** Appended to the image's kernel command line. */
  extraCmdline?: string;
  /** More QEMU arguments (devices to hot-unplug later, memory backends). */
  extraArgs?: string[];
}

export interface BootedGuest {
  workDir: string;
  port: number;
  pid: number;
  serialLog: string;
  qmpSocket: string;
  dataDisk?: string;
  process: ChildProcess;
  readSerial(): Promise<string>;
  /** Resolves with the DROVER-READY line once it appears on the serial console. */
  waitReady(timeoutMs: number): Promise<string>;
  http(pathAndQuery: string): Promise<{ status: number; body: string; contentType: string | null }>;
  qmp(command: string, args?: Record<string, unknown>): Promise<unknown>;
  waitExit(timeoutMs: number): Promise<boolean>;
  /** Kills QEMU (by PID) if still running and removes the work dir. */
  stop(): Promise<void>;
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      srv.close(() => (typeof addr === 'object' && addr ? resolve(addr.port) : reject(new Error('no port'))));
    });
  });
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

function qemuArgs(o: BootOptions, dir: string, files: { boot: string; data?: string; serial: string; qmp: string }, port: number, kvm: boolean): string[] {
  const image = (f: string | undefined): string => path.join(imageDir(o.imagesDir, o.image.name), f ?? '');
  const cmdline = `${o.image.cmdline ?? 'console=ttyS0'} drover.hostname=${o.hostname ?? 'tiny'}${o.extraCmdline ? ` ${o.extraCmdline}` : ''}`;
  if ([dir, image('')].some((p) => p.includes(','))) throw new Error(`paths must not contain commas: ${dir}`);
  const args = ['-machine', 'q35', '-accel', kvm ? 'kvm' : 'tcg', '-cpu', kvm ? 'host' : 'max'];
  args.push('-m', o.memory ?? '256', '-smp', o.smp ?? '2', '-nographic', '-nodefaults', '-no-user-config');
  args.push('-kernel', image(o.image.kernel), '-initrd', image(o.image.initrd), '-append', cmdline);
  args.push('-netdev', `user,id=n0,hostfwd=tcp:127.0.0.1:${port}-:80`, '-device', 'virtio-net-pci,netdev=n0,romfile=');
  args.push('-drive', `file=${files.boot},if=virtio,format=qcow2`);
  if (files.data) args.push('-drive', `file=${files.data},if=virtio,format=raw`);
  args.push('-device', 'virtio-balloon-pci', '-serial', `file:${files.serial}`, '-monitor', 'none');
  args.push('-qmp', `unix:${files.qmp},server=on,wait=off`, ...(o.extraArgs ?? []));
  return args;
}

/** The DROVER-READY line of a serial log, if any (a marker must sit on its own line). */
export function readyLine(serial: string): string | undefined {
  return serial.split(/\r?\n/).find((l) => /^DROVER-READY( boot_id=\S+)?$/.test(l));
}

export async function bootGuest(o: BootOptions): Promise<BootedGuest> {
  const workDir = await mkdtemp(path.join(tmpdir(), 'drover-boot-'));
  const files = {
    boot: path.join(workDir, 'boot.qcow2'),
    data: o.dataDiskMiB ? path.join(workDir, 'data.raw') : undefined,
    serial: path.join(workDir, 'serial.log'),
    qmp: path.join(workDir, 'qmp.sock'),
  };
  // The boot volume is a thin clone of the image's base disk.
  const base = path.join(imageDir(o.imagesDir, o.image.name), o.image.disk ?? 'disk.qcow2');
  await runCommand('qemu-img', ['create', '-q', '-f', 'qcow2', '-b', base, '-F', o.image.diskFormat ?? 'qcow2', files.boot]);
  if (files.data) await runCommand('qemu-img', ['create', '-q', '-f', 'raw', files.data, `${o.dataDiskMiB}M`]);
  const port = await freePort();
  // KVM only where a test boot showed it runs guests (src/qemu/kvm-check.ts).
  const { kvm } = await detectHostCaps({ kernels: [path.join(imageDir(o.imagesDir, o.image.name), o.image.kernel ?? '')] });
  const child = spawn('qemu-system-x86_64', qemuArgs(o, workDir, files, port, kvm), { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr?.on('data', (b: Buffer) => (stderr += b.toString()));
  let exited = false;
  child.on('exit', () => (exited = true));
  if (child.pid === undefined) throw new Error('qemu-system-x86_64 did not start');
  const pid = child.pid;
  const readSerial = (): Promise<string> => readFile(files.serial, 'utf8').catch(() => '');
  const waitExit = async (timeoutMs: number): Promise<boolean> => {
    const deadline = Date.now() + timeoutMs;
    while (!exited && Date.now() < deadline) await sleep(100);
    return exited;
  };

  return {
    workDir,
    port,
    pid,
    serialLog: files.serial,
    qmpSocket: files.qmp,
    dataDisk: files.data,
    process: child,
    readSerial,
    async waitReady(timeoutMs) {
      const deadline = Date.now() + timeoutMs;
      while (Date.now() < deadline) {
        const line = readyLine(await readSerial());
        if (line) return line;
        if (exited) throw new Error(`QEMU exited before DROVER-READY: ${stderr}\n${await readSerial()}`);
        await sleep(100);
      }
      throw new Error(`no DROVER-READY within ${timeoutMs} ms; serial:\n${await readSerial()}`);
    },
    async http(pathAndQuery) {
      const res = await fetch(`http://127.0.0.1:${port}${pathAndQuery}`, { signal: AbortSignal.timeout(30_000) });
      return { status: res.status, body: await res.text(), contentType: res.headers.get('content-type') };
    },
    qmp: (command, args) => qmpCommand(files.qmp, command, args),
    waitExit,
    async stop() {
      if (!exited) {
        process.kill(pid, 'SIGTERM');
        if (!(await waitExit(5000))) process.kill(pid, 'SIGKILL');
        await waitExit(5000);
      }
      await rm(workDir, { recursive: true, force: true });
    },
  };
}

/** One QMP command on a fresh connection: greeting, qmp_capabilities, command. */
export function qmpCommand(socket: string, command: string, args?: Record<string, unknown>): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const conn = createConnection(socket);
    let buf = '';
    let stage = 0;
    conn.setTimeout(10_000, () => conn.destroy(new Error(`QMP ${command} timed out`)));
    conn.on('error', reject);
    conn.on('data', (d: Buffer) => {
      buf += d.toString();
      for (let nl = buf.indexOf('\n'); nl >= 0; nl = buf.indexOf('\n')) {
        const msg = JSON.parse(buf.slice(0, nl)) as { return?: unknown; error?: { desc: string }; event?: string };
        buf = buf.slice(nl + 1);
        if (msg.event) continue;
        if (msg.error) return conn.destroy(new Error(`QMP ${command}: ${msg.error.desc}`));
        if (stage === 0) conn.write(JSON.stringify({ execute: 'qmp_capabilities' }) + '\n');
        else if (stage === 1) conn.write(JSON.stringify({ execute: command, arguments: args ?? {} }) + '\n');
        else {
          conn.end();
          return resolve(msg.return);
        }
        stage++;
      }
    });
  });
}

async function main(): Promise<void> {
  const { buildTinyImage } = await import('./tiny-build.js');
  const imagesDir = process.argv[2] ?? path.join(homedir(), '.cache/drover/images');
  const image = await buildTinyImage({ imagesDir, onProgress: (p) => console.log(`[${p.done}/${p.total}] ${p.step} ${p.message ?? ''}`) });
  const started = Date.now();
  const guest = await bootGuest({ imagesDir, image, dataDiskMiB: 16 });
  try {
    console.log(await guest.waitReady(120_000), `after ${Date.now() - started} ms`);
    for (const p of ['/health', '/info', '/counter?value=7', '/counter']) console.log(p, (await guest.http(p)).body.trim());
  } finally {
    await guest.stop();
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) await main();
