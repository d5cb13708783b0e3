import { describe, expect, it } from 'vitest';
import { fieldPath, schemaErrorToApiError } from './http-errors.js';

describe('schema errors as API errors', () => {
  it('turns JSON pointers into field paths', () => {
    expect(fieldPath('/ports/0/hostPort')).toBe('ports[0].hostPort');
    expect(fieldPath('', 'name')).toBe('name');
    expect(fieldPath('/ports/2', 'guestPort')).toBe('ports[2].guestPort');
  });

  it('gathers a union of literals into one list, skipping the anyOf summary', () => {
    const e = schemaErrorToApiError([
      { instancePath: '/ports/0/proto', keyword: 'const', params: { allowedValue: 'tcp' } },
      { instancePath: '/ports/0/proto', keyword: 'const', params: { allowedValue: 'udp' } },
      { instancePath: '/ports/0/proto', keyword: 'anyOf', params: {} },
    ], 'body');
    expect(e).toMatchObject({ code: 'invalid', field: 'ports[0].proto', message: 'ports[0].proto must be one of: tcp, udp', allowed: 'tcp, udp' });
  });

  it('names the limits of numbers and the body itself when it is not an object', () => {
    expect(schemaErrorToApiError([{ instancePath: '/memoryMiB', keyword: 'minimum', params: { comparison: '>=', limit: 128 } }], 'body').message).toBe('memoryMiB must be >= 128');
    expect(schemaErrorToApiError([{ instancePath: '', keyword: 'type', params: { type: 'object' } }], 'body')).toMatchObject({ field: 'body', message: 'body must be an object' });
  });
});
