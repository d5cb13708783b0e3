// The guest's serial output kept on disk, bounded: past `maxBytes` the file
// is cut to its last `keepBytes`. And a scanner for the readiness marker,
// which may arrive split across chunks.
import fs from 'node:fs';

export const SERIAL_LOG_MAX = 1024 * 1024;
export const SERIAL_LOG_KEEP = 512 * 1024;
export const READY_MARKER = 'DROVER-READY';

export class BoundedLog {
  private size: number;

  constructor(
    readonly file: string,
    readonly maxBytes = SERIAL_LOG_MAX,
    readonly keepBytes = SERIAL_LOG_KEEP,
  ) {
    this.size = fileSize(file);
  }

  get bytes(): number {
    return this.size;
  }

  append(data: Buffer): void {
    fs.appendFileSync(this.file, data, { mode: 0o600 });
    this.size += data.length;
    if (this.size > this.maxBytes) this.trim();
  }

  /** The last `bytes` of the log ('' when there is none). */
  tail(bytes: number): Buffer {
    return readTail(this.file, bytes);
  }

  private trim(): void {
    const kept = readTail(this.file, this.keepBytes);
    const tmp = `${this.file}.trim`;
    fs.writeFileSync(tmp, kept, { mode: 0o600 });
    fs.renameSync(tmp, this.file);
    this.size = kept.length;
  }
}

/** Finds a marker in a byte stream, also when chunks split it. */
export class MarkerScanner {
  private carry = '';

  constructor(readonly marker = READY_MARKER) {}

  /** True when the marker ends within this chunk. */
  push(chunk: Buffer | string): boolean {
    const text = this.carry + (typeof chunk === 'string' ? chunk : chunk.toString('latin1'));
    const found = text.includes(this.marker);
    this.carry = found ? '' : text.slice(-(this.marker.length - 1));
    return found;
  }
}

function fileSize(file: string): number {
  try {
    return fs.statSync(file).size;
  } catch {
    return 0;
  }
}

function readTail(file: string, bytes: number): Buffer {
  let fd: number;
  try {
    fd = fs.openSync(file, 'r');
  } catch {
    return Buffer.alloc(0);
  }
  try {
    const size = fs.fstatSync(fd).size;
    const length = Math.max(0, Math.min(bytes, size));
    const buf = Buffer.alloc(length);
    fs.readSync(fd, buf, 0, length, size - length);
    return buf;
  } finally {
    fs.closeSync(fd);
  }
}
