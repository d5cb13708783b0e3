// One VM's serial console as the agent keeps it: the link to QEMU's serial
// socket (while a QEMU runs), the bounded serial.log, the readiness marker,
// and the console subscribers that get the bytes live.
import { SerialLink } from '../qemu/serial.js';
import { BoundedLog, MarkerScanner } from './serial-log.js';

export type SerialSubscriber = (data: Buffer) => void;

export class VmSerial {
  readonly log: BoundedLog;
  private link: SerialLink | null = null;
  private scanner = new MarkerScanner();
  private readonly subscribers = new Set<SerialSubscriber>();

  constructor(
    logFile: string,
    private readonly onReady: () => void,
  ) {
    this.log = new BoundedLog(logFile);
  }

  /** Follows the serial socket of the QEMU in runDir until it exits. */
  connect(runDir: string, pid: number): void {
    this.disconnect();
    this.scanner = new MarkerScanner();
    const link = SerialLink.forRunDir(runDir, pid, { retryMs: 100 });
    link.on('data', (data: Buffer) => this.onData(data));
    this.link = link;
  }

  disconnect(): void {
    this.link?.close();
    this.link = null;
  }

  /** Console input to the guest; false when no QEMU runs. */
  write(data: Buffer | string): boolean {
    if (!this.link) return false;
    this.link.write(data);
    return true;
  }

  subscribe(fn: SerialSubscriber): () => void {
    this.subscribers.add(fn);
    return () => this.subscribers.delete(fn);
  }

  private onData(data: Buffer): void {
    try {
      this.log.append(data);
    } catch {
      // A full disk must not stop the console; the live bytes still go out.
    }
    if (this.scanner.push(data)) this.onReady();
    for (const fn of this.subscribers) fn(data);
  }
}
