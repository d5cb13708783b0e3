// Turns every error a request can meet into the ApiErrorBody shape. Schema
// validation errors become `invalid` with `field` as the JSON path of the
// field at fault and a message that says what the field allows.
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { ApiError, ErrorCode } from '../api/errors.js';
import { NAME_PATTERN } from '../core/names.js';
import { StoreConflictError } from '../store/store.js';

/** The parts of an AJV error the messages use. */
interface SchemaError {
  instancePath: string;
  keyword: string;
  params: Record<string, unknown>;
  message?: string;
}

const NAME_RULE = "1-63 lowercase letters, digits and '-', starting and ending with a letter or digit";

/** `/ports/0/hostPort` → `ports[0].hostPort`. */
export function fieldPath(instancePath: string, extra?: string): string {
  const parts = instancePath.split('/').slice(1).map((p) => p.replace(/~1/g, '/').replace(/~0/g, '~'));
  if (extra !== undefined) parts.push(extra);
  return parts.reduce((path, p) => (/^\d+$/.test(p) ? `${path}[${p}]` : path ? `${path}.${p}` : p), '');
}

/** The most useful of AJV's errors, as an ApiError naming the field and what it allows. */
export function schemaErrorToApiError(errors: readonly SchemaError[], context: string): ApiError {
  const first = errors.find((e) => e.keyword !== 'anyOf' && e.keyword !== 'oneOf') ?? errors[0];
  if (!first) return new ApiError(ErrorCode.invalid, `invalid ${context}`);
  const isRequired = first.keyword === 'required';
  const field = fieldPath(first.instancePath, isRequired ? String(first.params.missingProperty) : undefined) || context;
  const { rule, allowed } = describe(first, errors);
  return new ApiError(ErrorCode.invalid, `${field} ${rule}`, field, allowed);
}

function describe(e: SchemaError, all: readonly SchemaError[]): { rule: string; allowed?: string } {
  const p = e.params;
  switch (e.keyword) {
    case 'required':
      return { rule: 'is required' };
    case 'minimum':
    case 'maximum':
    case 'exclusiveMinimum':
    case 'exclusiveMaximum':
      return { rule: `must be ${String(p.comparison)} ${String(p.limit)}`, allowed: `${String(p.comparison)} ${String(p.limit)}` };
    case 'type':
      return { rule: `must be ${article(String(p.type))}`, allowed: String(p.type) };
    case 'pattern':
      return p.pattern === NAME_PATTERN
        ? { rule: `must be ${NAME_RULE}`, allowed: NAME_RULE }
        : { rule: `must match ${String(p.pattern)}`, allowed: String(p.pattern) };
    case 'minLength':
      return { rule: `must be at least ${String(p.limit)} characters long`, allowed: `>= ${String(p.limit)} characters` };
    case 'maxLength':
      return { rule: `must be at most ${String(p.limit)} characters long`, allowed: `<= ${String(p.limit)} characters` };
    case 'minItems':
    case 'maxItems':
      return { rule: `must have ${e.keyword === 'minItems' ? 'at least' : 'at most'} ${String(p.limit)} items`, allowed: `${e.keyword === 'minItems' ? '>=' : '<='} ${String(p.limit)} items` };
    case 'format':
      return { rule: `must be a valid ${String(p.format)}${String(p.format).startsWith('ip') ? ' address' : ' value'}`, allowed: String(p.format) };
    case 'const':
    case 'enum':
      return oneOf(e, all);
    case 'additionalProperties':
      return { rule: `has an unknown field "${String(p.additionalProperty)}"` };
    default:
      return { rule: e.message ?? 'is invalid' };
  }
}

/** A union of literals fails once per literal: gather them into one list. */
function oneOf(e: SchemaError, all: readonly SchemaError[]): { rule: string; allowed: string } {
  const values = all
    .filter((x) => x.instancePath === e.instancePath && (x.keyword === 'const' || x.keyword === 'enum'))
    .flatMap((x) => (x.keyword === 'const' ? [x.params.allowedValue] : ((x.params.allowedValues as unknown[]) ?? [])));
  const allowed = values.map((v) => String(v)).join(', ');
  return { rule: values.length === 1 ? `must be ${allowed}` : `must be one of: ${allowed}`, allowed };
}

function article(type: string): string {
  return /^[aeiou]/.test(type) ? `an ${type}` : `a ${type}`;
}

/** Maps any thrown error to an ApiError (logging the unexpected ones). */
export function toApiError(err: unknown, request: FastifyRequest): ApiError {
  if (err instanceof ApiError) return err;
  if (err instanceof StoreConflictError) return new ApiError(ErrorCode.conflict, `changed concurrently, try again: ${err.message}`);
  const fe = err as Partial<FastifyError> & { validation?: SchemaError[]; validationContext?: string };
  if (fe.validation) return schemaErrorToApiError(fe.validation, fe.validationContext ?? 'body');
  if (typeof fe.statusCode === 'number' && fe.statusCode >= 400 && fe.statusCode < 500) {
    return new ApiError(fe.statusCode === 401 ? ErrorCode.unauthorized : ErrorCode.invalid, fe.message ?? 'bad request');
  }
  request.log.error({ err }, 'request failed');
  return new ApiError(ErrorCode.internal, `internal error: ${(err as Error)?.message ?? String(err)}`);
}

export function sendError(err: unknown, request: FastifyRequest, reply: FastifyReply): FastifyReply {
  const api = toApiError(err, request);
  const fe = err as Partial<FastifyError>;
  // Keep fastify's own 4xx status (413 too large, 415 media type) when it had one.
  const status = !(err instanceof ApiError) && typeof fe.statusCode === 'number' && fe.statusCode >= 400 && fe.statusCode < 500 && !('validation' in (err as object)) ? fe.statusCode : api.status;
  return reply.code(status).send(api.toBody());
}
