// Opening the controller's WebSockets (console, events) with errors as the
// REST calls give them: a refused upgrade carries the API's error body.
import WebSocket from 'ws';
import { ApiError, ErrorCode } from '../api/errors.js';

export interface OpenOptions {
  signal?: AbortSignal | undefined;
  /** Attached before the socket opens: a message sent right on open is not lost. */
  onMessage?: (data: Buffer) => void;
}

export function openSocket(url: string, opts: OpenOptions = {}): Promise<WebSocket> {
  const { signal, onMessage } = opts;
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url);
    if (onMessage) ws.on('message', (data: Buffer) => onMessage(data));
    const onAbort = () => {
      ws.terminate();
      reject(new ApiError(ErrorCode.unavailable, 'aborted'));
    };
    signal?.addEventListener('abort', onAbort, { once: true });
    const settle = () => signal?.removeEventListener('abort', onAbort);
    ws.once('open', () => {
      settle();
      resolve(ws);
    });
    ws.once('unexpected-response', (req, res) => {
      let text = '';
      res.on('data', (chunk: Buffer) => (text += chunk.toString()));
      res.on('end', () => {
        settle();
        req.destroy();
        reject(ApiError.fromBody(res.statusCode ?? 500, parseJson(text)));
      });
      res.on('error', () => undefined);
    });
    // Stays attached: later errors of an open socket are the caller's to handle, and must not crash us.
    ws.on('error', (err) => {
      settle();
      reject(new ApiError(ErrorCode.unavailable, `cannot reach the Drover controller at ${safeUrl(url)}: ${err.message}. Is it running? (npm run up)`));
    });
  });
}

/** Resolves when the socket closes, with its close code and reason. */
export function closed(ws: WebSocket): Promise<{ code: number; reason: string }> {
  return new Promise((resolve) => {
    if (ws.readyState === WebSocket.CLOSED) return resolve({ code: 1006, reason: '' });
    ws.once('close', (code, reason) => resolve({ code, reason: reason.toString() }));
  });
}

/** Close codes that mean the other side ended the stream on purpose. */
export function isNormalClose(code: number): boolean {
  return code === 1000 || code === 1001 || code === 1005;
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/** The URL without its token, for messages. */
function safeUrl(url: string): string {
  const u = new URL(url);
  u.search = '';
  u.protocol = u.protocol === 'wss:' ? 'https:' : 'http:';
  return u.origin;
}
