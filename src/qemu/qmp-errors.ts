// Errors raised by the QMP client. Each names the command it concerns so a
// caller's log says what failed without extra context.

export class QmpError extends Error {
  override name = 'QmpError';
}

/** QEMU answered {"error": {class, desc}}. */
export class QmpCommandError extends QmpError {
  override name = 'QmpCommandError';
  /** QEMU's error class, e.g. "GenericError", "DeviceNotFound". */
  readonly class: string;
  constructor(
    readonly command: string,
    errorClass: string,
    readonly desc: string,
  ) {
    super(`QMP ${command} failed: ${errorClass}: ${desc}`);
    this.class = errorClass;
  }
}

/** No reply within the deadline; the command may still run in QEMU. */
export class QmpTimeoutError extends QmpError {
  override name = 'QmpTimeoutError';
  constructor(
    readonly command: string,
    readonly timeoutMs: number,
  ) {
    super(`QMP ${command}: no reply within ${timeoutMs} ms`);
  }
}

/** The socket closed before the reply came (or was already closed). */
export class QmpDisconnectedError extends QmpError {
  override name = 'QmpDisconnectedError';
  constructor(
    readonly command: string,
    cause?: unknown,
  ) {
    super(`QMP ${command}: connection closed${cause instanceof Error ? ` (${cause.message})` : ''}`, { cause });
  }
}

/** The peer did not speak QMP (bad or missing greeting). */
export class QmpProtocolError extends QmpError {
  override name = 'QmpProtocolError';
}
