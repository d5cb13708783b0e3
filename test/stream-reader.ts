// Reads a guest's /stream ("<seq> <uptime>" lines) over one TCP connection
// and reports whether it ended cleanly and which sequence numbers were missed.
import http from 'node:http';

export interface StreamResult {
  /** Set when the connection failed (reset, timeout) instead of ending cleanly. */
  error?: string;
  lastSeq: number;
  /** Sequence numbers after which one or more lines were missing. */
  gaps: number[];
}

export function readStream(url: string, timeoutMs = 120_000): { lines: () => number; done: Promise<StreamResult> } {
  let count = 0;
  let lastSeq = -1;
  const gaps: number[] = [];
  let partial = '';
  const take = (line: string) => {
    const seq = Number(line.split(' ')[0]);
    if (!Number.isInteger(seq)) return;
    if (seq !== lastSeq + 1) gaps.push(lastSeq);
    lastSeq = seq;
    count++;
  };
  const done = new Promise<StreamResult>((resolve) => {
    const req = http.get(url, { timeout: timeoutMs }, (res) => {
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        const parts = (partial + chunk).split('\n');
        partial = parts.pop() ?? '';
        parts.forEach(take);
      });
      res.on('end', () => resolve({ lastSeq, gaps }));
      res.on('error', (err) => resolve({ error: err.message, lastSeq, gaps }));
    });
    req.on('timeout', () => req.destroy(new Error('stream timed out')));
    req.on('error', (err) => resolve({ error: err.message, lastSeq, gaps }));
  });
  return { lines: () => count, done };
}
