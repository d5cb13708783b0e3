import { describe, expect, it } from 'vitest';
import { UsageError } from './output.js';
import { buildCreateRequest, buildImportRequest, parseCount, parseDiskBytes, parseMemoryMiB, parsePort, parsePorts } from './parse.js';

function usage(fn: () => unknown): UsageError {
  try {
    fn();
  } catch (err) {
    if (err instanceof UsageError) return err;
    throw err;
  }
  throw new Error('expected a UsageError');
}

describe('parsePort', () => {
  it('reads HOST:GUEST, ADDR:HOST:GUEST and a protocol', () => {
    expect(parsePort('8080:80')).toEqual({ hostPort: 8080, guestPort: 80, proto: 'tcp' });
    expect(parsePort('5353:53/udp')).toEqual({ hostPort: 5353, guestPort: 53, proto: 'udp' });
    expect(parsePort('0.0.0.0:2222:22/tcp')).toEqual({ hostAddress: '0.0.0.0', hostPort: 2222, guestPort: 22, proto: 'tcp' });
  });

  it.each([
    ['80', 'is not a port forward'],
    ['a:b:c:d', 'is not a port forward'],
    ['8080:http', '"http" as a port'],
    ['0:80', 'port 0 out of range'],
    ['8080:65536', 'port 65536 out of range'],
    ['8080:80/sctp', 'unknown protocol'],
    ['localhost:8080:80', 'must be an IPv4 address'],
    ['8080:80/udp/tcp', 'unknown protocol'],
  ])('refuses %s, naming --port and what it allows', (text, why) => {
    const e = usage(() => parsePort(text));
    expect(e.message).toContain(why);
    expect(e.field).toBe('--port');
    expect(e.allowed).toMatch(/HOST:GUEST/);
  });

  it('refuses a host port used twice and more than 16 forwards', () => {
    expect(usage(() => parsePorts(['8080:80', '8080:81'])).message).toContain('twice');
    expect(parsePorts(['8080:80', '8080:80/udp'])).toHaveLength(2);
    expect(usage(() => parsePorts(Array.from({ length: 17 }, (_, i) => `${9000 + i}:80`))).allowed).toBe('at most 16');
  });
});

describe('sizes and counts', () => {
  it('reads memory with MiB as the plain unit', () => {
    expect(parseMemoryMiB('256', '--memory')).toBe(256);
    expect(parseMemoryMiB('1G', '--memory')).toBe(1024);
    expect(parseMemoryMiB('1.5GiB', '--memory')).toBe(1536);
  });

  it('refuses bad memory, naming the option', () => {
    for (const text of ['abc', '64', '1.5', '12X', '-5']) {
      const e = usage(() => parseMemoryMiB(text, '--memory'));
      expect(e.field).toBe('--memory');
      expect(e.allowed).toContain('MiB');
    }
  });

  it('reads disks with GiB as the plain unit', () => {
    expect(parseDiskBytes('1')).toBe(1024 ** 3);
    expect(parseDiskBytes('64M')).toBe(64 * 1024 ** 2);
    expect(usage(() => parseDiskBytes('10K')).message).toContain('too small');
    expect(usage(() => parseDiskBytes('big')).field).toBe('--disk');
  });

  it('reads counts in range', () => {
    expect(parseCount('2', '--cpus', 1, 64)).toBe(2);
    for (const text of ['0', '65', '1.5', 'two', '']) expect(usage(() => parseCount(text, '--cpus', 1, 64)).allowed).toBe('1-64');
  });
});

describe('buildCreateRequest', () => {
  it('builds the request body', () => {
    const body = buildCreateRequest('web', { image: 'tiny', cpus: '2', memory: '512', maxMemory: '2G', disk: '1G', port: ['8080:80'], start: false });
    expect(body).toEqual({ name: 'web', image: 'tiny', cpus: 2, memoryMiB: 512, maxMemoryMiB: 2048, diskBytes: 1024 ** 3, ports: [{ hostPort: 8080, guestPort: 80, proto: 'tcp' }], start: false });
  });

  it('refuses bad names and inconsistent maxima', () => {
    expect(usage(() => buildCreateRequest('Web_1', { image: 'tiny', start: true })).field).toBe('NAME');
    expect(usage(() => buildCreateRequest('web', { image: 'Tiny', start: true })).field).toBe('--image');
    expect(usage(() => buildCreateRequest('web', { image: 'tiny', memory: '512', maxMemory: '256', start: true })).field).toBe('--max-memory');
    expect(usage(() => buildCreateRequest('web', { image: 'tiny', cpus: '4', maxCpus: '2', start: true })).field).toBe('--max-cpus');
  });
});

describe('buildImportRequest', () => {
  it('takes a file or a kernel+initrd, with absolute paths', () => {
    expect(buildImportRequest('d', { file: 'disk.qcow2' }, '/home/u')).toEqual({ name: 'd', file: '/home/u/disk.qcow2' });
    expect(buildImportRequest('k', { kernel: '/boot/vmlinuz', initrd: '../i.gz', cmdline: 'console=ttyS0' }, '/home/u')).toEqual({
      name: 'k', kernel: '/boot/vmlinuz', initrd: '/home/i.gz', cmdline: 'console=ttyS0',
    });
  });

  it('allows exactly one form', () => {
    expect(usage(() => buildImportRequest('d', {}, '/')).message).toContain('nothing to import');
    expect(usage(() => buildImportRequest('d', { file: 'a', kernel: 'b', initrd: 'c' }, '/')).message).toContain('not both');
    expect(usage(() => buildImportRequest('d', { kernel: 'b' }, '/')).field).toBe('--initrd');
    expect(usage(() => buildImportRequest('d', { initrd: 'c' }, '/')).field).toBe('--kernel');
    expect(usage(() => buildImportRequest('d', { file: 'a', cmdline: 'x' }, '/')).field).toBe('--cmdline');
  });
});
