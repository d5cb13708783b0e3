// Our own QMP client over a unix socket. QMP is line-delimited JSON: a
// greeting, then replies matched to commands by "id", with asynchronous
// events interleaved anywhere.
import { EventEmitter } from 'node:events';
import net from 'node:net';
import { AsyncQueue } from './async-queue.js';
import { LineSplitter } from './json-lines.js';
import { QmpCommandError, QmpDisconnectedError, QmpProtocolError, QmpTimeoutError } from './qmp-errors.js';

export { QmpCommandError, QmpDisconnectedError, QmpError, QmpProtocolError, QmpTimeoutError } from './qmp-errors.js';

export interface QmpVersion {
  qemu: { major: number; minor: number; micro: number };
  package: string;
}

export interface QmpEvent {
  event: string;
  // QAPI event payloads differ per event; commands.ts types the ones we use.
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  data?: any;
  timestamp: { seconds: number; microseconds: number };
}

export interface QmpConnectOptions {
  /** Deadline for connect + greeting + qmp_capabilities. */
  timeoutMs?: number;
  /** Default deadline of each execute(). */
  commandTimeoutMs?: number;
}

export interface QmpMalformed {
  line: string;
  error: Error;
}

interface Pending {
  command: string;
  resolve(value: unknown): void;
  reject(error: Error): void;
  timer: NodeJS.Timeout;
}

type Message = Record<string, unknown>;

const DEFAULT_CONNECT_TIMEOUT_MS = 10_000;
const DEFAULT_COMMAND_TIMEOUT_MS = 30_000;

export class QmpClient extends EventEmitter {
  /** QEMU's version, from the greeting. */
  version: QmpVersion = { qemu: { major: 0, minor: 0, micro: 0 }, package: '' };
  capabilities: string[] = [];
  /** Lines that were not JSON objects (each also emits 'malformed'). */
  malformedLines = 0;
  /** Replies whose id matched no pending command (late after a timeout, or foreign). */
  unmatchedReplies = 0;

  private readonly pending = new Map<string, Pending>();
  private readonly subscribers = new Set<AsyncQueue<QmpEvent>>();
  private readonly lines = new LineSplitter();
  private nextId = 1;
  private isClosed = false;
  private closeCause: Error | undefined;
  private greeting: { resolve(m: Message): void; reject(e: Error): void } | null = null;
  private readonly closedPromise: Promise<void>;

  private constructor(
    private readonly socket: net.Socket,
    readonly commandTimeoutMs: number,
  ) {
    super();
    this.closedPromise = new Promise((resolve) => this.once('close', () => resolve()));
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('error', (err) => (this.closeCause ??= err));
    socket.on('close', () => this.handleClose());
  }

  /** Connects, reads the greeting and negotiates capabilities. Socket errors (ENOENT, ECONNREFUSED) reject as is. */
  static async connect(path: string, opts: QmpConnectOptions = {}): Promise<QmpClient> {
    const timeoutMs = opts.timeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS;
    const deadline = Date.now() + timeoutMs;
    const socket = await openSocket(path, timeoutMs);
    const client = new QmpClient(socket, opts.commandTimeoutMs ?? DEFAULT_COMMAND_TIMEOUT_MS);
    try {
      await client.handshake(deadline);
      return client;
    } catch (err) {
      client.close();
      throw err;
    }
  }

  get closed(): boolean {
    return this.isClosed;
  }

  /** Resolves once the socket has closed (for any reason). */
  whenClosed(): Promise<void> {
    return this.closedPromise;
  }

  execute<T = unknown>(command: string, args?: object, opts: { timeoutMs?: number } = {}): Promise<T> {
    if (this.isClosed) return Promise.reject(new QmpDisconnectedError(command, this.closeCause));
    const id = `drover-${this.nextId++}`;
    const timeoutMs = opts.timeoutMs ?? this.commandTimeoutMs;
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new QmpTimeoutError(command, timeoutMs));
      }, timeoutMs);
      this.pending.set(id, { command, resolve: resolve as (v: unknown) => void, reject, timer });
      const message = args === undefined ? { execute: command, id } : { execute: command, arguments: args, id };
      this.socket.write(JSON.stringify(message) + '\n');
    });
  }

  /** A new subscription to events from now on; it ends when the socket closes. */
  events(): AsyncIterableIterator<QmpEvent> {
    const queue: AsyncQueue<QmpEvent> = new AsyncQueue(() => this.subscribers.delete(queue));
    if (this.isClosed) queue.end();
    else this.subscribers.add(queue);
    return queue;
  }

  /** The next event that matches; subscribe before sending the command that causes it. */
  waitForEvent(match: (ev: QmpEvent) => boolean, timeoutMs: number): Promise<QmpEvent> {
    return new Promise((resolve, reject) => {
      const done = (err: Error | null, ev?: QmpEvent): void => {
        clearTimeout(timer);
        this.off('event', onEvent);
        this.off('close', onClose);
        if (err) reject(err);
        else resolve(ev as QmpEvent);
      };
      const onEvent = (ev: QmpEvent): void => {
        if (match(ev)) done(null, ev);
      };
      const onClose = (): void => done(new QmpDisconnectedError('waitForEvent', this.closeCause));
      const timer = setTimeout(() => done(new QmpTimeoutError('waitForEvent', timeoutMs)), timeoutMs);
      if (this.isClosed) return onClose();
      this.on('event', onEvent);
      this.on('close', onClose);
    });
  }

  /** Asks QEMU to exit. The socket dropping before the reply (ECONNRESET, EPIPE) counts as success. */
  async quit(opts: { timeoutMs?: number } = {}): Promise<void> {
    try {
      await this.execute('quit', undefined, opts);
    } catch (err) {
      if (err instanceof QmpDisconnectedError) return;
      throw err;
    }
  }

  close(): void {
    this.socket.destroy();
    this.handleClose();
  }

  override on(event: 'event', listener: (ev: QmpEvent) => void): this;
  override on(event: 'close', listener: (cause?: Error) => void): this;
  override on(event: 'malformed', listener: (info: QmpMalformed) => void): this;
  override on(event: string | symbol, listener: (...args: never[]) => void): this;
  override on(event: string | symbol, listener: (...args: never[]) => void): this {
    return super.on(event, listener as (...args: unknown[]) => void);
  }

  private async handshake(deadline: number): Promise<void> {
    const greeting = await this.readGreeting(Math.max(1, deadline - Date.now()));
    const qmp = greeting['QMP'] as { version?: QmpVersion; capabilities?: string[] } | undefined;
    if (!qmp || typeof qmp !== 'object') throw new QmpProtocolError(`not a QMP greeting: ${JSON.stringify(greeting)}`);
    if (qmp.version) this.version = qmp.version;
    this.capabilities = Array.isArray(qmp.capabilities) ? qmp.capabilities : [];
    await this.execute('qmp_capabilities', undefined, { timeoutMs: Math.max(1, deadline - Date.now()) });
  }

  private readGreeting(timeoutMs: number): Promise<Message> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new QmpTimeoutError('greeting', timeoutMs)), timeoutMs);
      const settle = (fn: () => void): void => {
        clearTimeout(timer);
        this.greeting = null;
        fn();
      };
      this.greeting = { resolve: (m) => settle(() => resolve(m)), reject: (e) => settle(() => reject(e)) };
      if (this.isClosed) this.greeting.reject(new QmpDisconnectedError('greeting', this.closeCause));
    });
  }

  private onData(chunk: Buffer): void {
    for (const line of this.lines.push(chunk)) this.onLine(line);
  }

  private onLine(line: string): void {
    let message: unknown;
    try {
      message = JSON.parse(line);
    } catch (err) {
      return this.malformed(line, err as Error);
    }
    if (typeof message !== 'object' || message === null || Array.isArray(message)) {
      return this.malformed(line, new Error('not a JSON object'));
    }
    this.dispatch(message as Message);
  }

  private malformed(line: string, error: Error): void {
    this.malformedLines++;
    this.emit('malformed', { line, error } satisfies QmpMalformed);
  }

  private dispatch(message: Message): void {
    if (this.greeting) {
      if ('QMP' in message) this.greeting.resolve(message);
      else this.greeting.reject(new QmpProtocolError(`expected a QMP greeting, got ${JSON.stringify(message)}`));
      return;
    }
    if (typeof message['event'] === 'string') return this.deliverEvent(message as unknown as QmpEvent);
    if ('return' in message || 'error' in message) this.settleReply(message);
  }

  private settleReply(message: Message): void {
    const id = message['id'];
    const pending = typeof id === 'string' ? this.pending.get(id) : undefined;
    if (!pending || typeof id !== 'string') {
      this.unmatchedReplies++;
      return;
    }
    this.pending.delete(id);
    clearTimeout(pending.timer);
    const error = message['error'] as { class?: string; desc?: string } | undefined;
    if (error) pending.reject(new QmpCommandError(pending.command, String(error.class), String(error.desc)));
    else pending.resolve(message['return']);
  }

  private deliverEvent(ev: QmpEvent): void {
    for (const queue of this.subscribers) queue.push(ev);
    this.emit('event', ev);
  }

  private handleClose(): void {
    if (this.isClosed) return;
    this.isClosed = true;
    this.greeting?.reject(new QmpDisconnectedError('greeting', this.closeCause));
    for (const pending of this.pending.values()) {
      clearTimeout(pending.timer);
      pending.reject(new QmpDisconnectedError(pending.command, this.closeCause));
    }
    this.pending.clear();
    for (const queue of this.subscribers) queue.end();
    this.subscribers.clear();
    this.emit('close', this.closeCause);
  }
}

function openSocket(path: string, timeoutMs: number): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const socket = net.createConnection({ path });
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new QmpTimeoutError('connect', timeoutMs));
    }, timeoutMs);
    socket.once('connect', () => {
      clearTimeout(timer);
      socket.removeAllListeners('error');
      resolve(socket);
    });
    socket.once('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
  });
}
