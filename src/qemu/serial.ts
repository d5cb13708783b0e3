// The guest's serial console over QEMU's RUNDIR/serial.sock. QEMU serves one
// client at a time and drops output nobody reads, so we stay connected and
// reconnect whenever the socket drops while the QEMU lives.
import { EventEmitter } from 'node:events';
import net from 'node:net';
import { isAlive } from './qemu-pid.js';
import { runPaths } from './run-dir.js';

export interface SerialLinkOptions {
  /** Keep retrying while this holds (e.g. the QEMU pid is alive); default: until close(). */
  isAlive?: () => boolean;
  /** Delay between connection attempts. */
  retryMs?: number;
  /** Input kept while disconnected; older input beyond this is dropped. */
  maxQueuedBytes?: number;
}

/**
 * Events: 'data' (Buffer), 'connect', 'disconnect', 'end' (gave up: QEMU is gone), 'close' (after close()).
 */
export class SerialLink extends EventEmitter {
  private socket: net.Socket | null = null;
  private timer: NodeJS.Timeout | null = null;
  private queue: Buffer[] = [];
  private isConnected = false;
  private stopped = false;
  private readonly alive: () => boolean;
  private readonly retryMs: number;
  private readonly maxQueuedBytes: number;

  constructor(
    readonly socketPath: string,
    opts: SerialLinkOptions = {},
  ) {
    super();
    this.alive = opts.isAlive ?? (() => true);
    this.retryMs = opts.retryMs ?? 50;
    this.maxQueuedBytes = opts.maxQueuedBytes ?? 64 * 1024;
    this.connect();
  }

  /** The serial console of the QEMU in runDir; gives up when pid exits (when given). */
  static forRunDir(runDir: string, pid?: number, opts: SerialLinkOptions = {}): SerialLink {
    return new SerialLink(runPaths(runDir).serial, { ...(pid === undefined ? {} : { isAlive: () => isAlive(pid) }), ...opts });
  }

  get connected(): boolean {
    return this.isConnected;
  }

  /** Sends input to the guest, or queues it until the link is up. */
  write(data: string | Buffer): void {
    const buf = typeof data === 'string' ? Buffer.from(data) : data;
    if (this.isConnected && this.socket) {
      this.socket.write(buf);
      return;
    }
    this.queue.push(buf);
    let total = this.queue.reduce((n, b) => n + b.length, 0);
    while (total > this.maxQueuedBytes && this.queue.length > 0) total -= this.queue.shift()?.length ?? 0;
  }

  /** Resolves once connected; rejects after timeoutMs or when the link ends. */
  waitConnected(timeoutMs: number): Promise<void> {
    if (this.isConnected) return Promise.resolve();
    if (this.stopped) return Promise.reject(new Error(`serial link ${this.socketPath} has ended`));
    return new Promise((resolve, reject) => {
      const finish = (err?: Error): void => {
        clearTimeout(timer);
        this.off('connect', onConnect);
        this.off('end', onEnd);
        this.off('close', onEnd);
        if (err) reject(err);
        else resolve();
      };
      const onConnect = (): void => finish();
      const onEnd = (): void => finish(new Error(`serial link ${this.socketPath} ended before connecting`));
      const timer = setTimeout(() => finish(new Error(`serial link ${this.socketPath}: not connected within ${timeoutMs} ms`)), timeoutMs);
      this.on('connect', onConnect);
      this.on('end', onEnd);
      this.on('close', onEnd);
    });
  }

  close(): void {
    if (this.stopped) return;
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.socket?.destroy();
    this.socket = null;
    this.isConnected = false;
    this.emit('close');
  }

  private connect(): void {
    this.timer = null;
    if (this.stopped) return;
    const socket = net.createConnection({ path: this.socketPath });
    this.socket = socket;
    socket.on('connect', () => this.onConnect(socket));
    socket.on('data', (chunk: Buffer) => this.emit('data', chunk));
    socket.on('error', () => {}); // ENOENT/ECONNREFUSED/ECONNRESET: 'close' follows and we retry
    socket.on('close', () => this.onClose(socket));
  }

  private onConnect(socket: net.Socket): void {
    this.isConnected = true;
    for (const buf of this.queue.splice(0)) socket.write(buf);
    this.emit('connect');
  }

  private onClose(socket: net.Socket): void {
    if (this.socket !== socket || this.stopped) return;
    this.socket = null;
    if (this.isConnected) {
      this.isConnected = false;
      this.emit('disconnect');
    }
    if (!this.alive()) {
      this.stopped = true;
      this.emit('end');
      return;
    }
    this.timer = setTimeout(() => this.connect(), this.retryMs);
  }
}
