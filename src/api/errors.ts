// The error model every endpoint answers with, and the codes it uses.
import { Type, type Static } from 'typebox';

export const ErrorCode = {
  invalid: 'invalid',          // a field is wrong; `field` names it
  notFound: 'not_found',
  conflict: 'conflict',        // name taken, port in use, illegal phase transition
  unauthorized: 'unauthorized',
  unavailable: 'unavailable',  // no host, QEMU missing, agent unreachable
  internal: 'internal',
} as const;
export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

export const ApiErrorBody = Type.Object({
  error: Type.Object({
    code: Type.String(),
    message: Type.String(),
    field: Type.Optional(Type.String({ description: 'the request field at fault' })),
    allowed: Type.Optional(Type.String({ description: 'what the field allows' })),
  }),
});
export type ApiErrorBody = Static<typeof ApiErrorBody>;

const STATUS: Record<ErrorCode, number> = {
  invalid: 400, not_found: 404, conflict: 409, unauthorized: 401, unavailable: 503, internal: 500,
};

/** Thrown by the server's handlers and by the client; carries the wire body. */
export class ApiError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly field?: string,
    readonly allowed?: string,
  ) {
    super(message);
    this.name = 'ApiError';
  }
  get status(): number {
    return STATUS[this.code];
  }
  toBody(): ApiErrorBody {
    return { error: { code: this.code, message: this.message, field: this.field, allowed: this.allowed } };
  }
  static fromBody(status: number, body: unknown): ApiError {
    const e = (body as Partial<ApiErrorBody> | undefined)?.error;
    if (e && typeof e.message === 'string') {
      return new ApiError((e.code as ErrorCode) ?? ErrorCode.internal, e.message, e.field, e.allowed);
    }
    return new ApiError(status === 401 ? ErrorCode.unauthorized : ErrorCode.internal, `HTTP ${status}`);
  }
}
