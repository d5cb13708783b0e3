// Splits a byte stream into lines: chunks may end anywhere, even inside a
// multi-byte UTF-8 character, and one chunk may hold several lines.
import { StringDecoder } from 'node:string_decoder';

export class LineSplitter {
  private readonly decoder = new StringDecoder('utf8');
  private partial = '';

  /** Feeds a chunk and returns the complete lines it finished (without '\n' or '\r'). */
  push(chunk: Buffer | string): string[] {
    const text = this.partial + (typeof chunk === 'string' ? chunk : this.decoder.write(chunk));
    const parts = text.split('\n');
    this.partial = parts.pop() ?? '';
    return parts.map((l) => (l.endsWith('\r') ? l.slice(0, -1) : l)).filter((l) => l.trim() !== '');
  }

  /** What is left after the stream ended (an unterminated last line). */
  rest(): string {
    return this.partial + this.decoder.end();
  }
}
