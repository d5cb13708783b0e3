import { describe, expect, it } from 'vitest';
import { checkResize, type HostRoom, type ResizeVm } from './resize.js';

const vm: ResizeVm = { name: 'web', cpus: 1, maxCpus: 4, memoryMiB: 256, maxMemoryMiB: 1024, bootMemoryMiB: 256 };
const roomy: HostRoom = { name: 'h0', freeCpus: 8, freeMemoryMiB: 8192 };

describe('checkResize', () => {
  it('grows within the maxima when the host has room', () => {
    expect(checkResize(vm, { cpus: 4, memoryMiB: 768 }, roomy, [])).toEqual({ ok: true, cpus: 4, memoryMiB: 768, addCpus: 3, addMemoryMiB: 512 });
  });

  it('shrinks hot-added memory and vCPUs, never below the boot memory', () => {
    const grown = { ...vm, cpus: 4, memoryMiB: 768 };
    expect(checkResize(grown, { cpus: 2, memoryMiB: 512 }, roomy, [])).toMatchObject({ ok: true, addCpus: -2, addMemoryMiB: -256 });
    expect(checkResize(grown, { memoryMiB: 128 }, roomy, [])).toMatchObject({ ok: false, field: 'memoryMiB', message: expect.stringMatching(/below the 256 MiB it booted with/) });
  });

  it('refuses what is beyond the maxima, naming the field and what is allowed', () => {
    expect(checkResize(vm, { cpus: 5 }, roomy, [])).toMatchObject({ ok: false, field: 'cpus', allowed: '1-4', message: expect.stringMatching(/^cpus: 5 is above the VM's maximum of 4/) });
    expect(checkResize(vm, { memoryMiB: 2048 }, roomy, [])).toMatchObject({ ok: false, field: 'memoryMiB', message: expect.stringMatching(/above the VM's maximum of 1024 MiB/) });
    expect(checkResize(vm, { cpus: 0 }, roomy, [])).toMatchObject({ ok: false, field: 'cpus' });
    expect(checkResize(vm, { cpus: 1.5 }, roomy, [])).toMatchObject({ ok: false, field: 'cpus' });
    expect(checkResize(vm, { memoryMiB: 259 }, roomy, [])).toMatchObject({ ok: false, field: 'memoryMiB', message: expect.stringMatching(/2 MiB blocks/) });
    expect(checkResize(vm, {}, roomy, [])).toMatchObject({ ok: false, field: 'request' });
  });

  it('when the host is short, names the hosts with room for the whole new size and offers --migrate', () => {
    const tight: HostRoom = { name: 'h0', freeCpus: 8, freeMemoryMiB: 100 };
    const others: HostRoom[] = [{ name: 'h1', freeCpus: 8, freeMemoryMiB: 600 }, { name: 'h2', freeCpus: 8, freeMemoryMiB: 2048 }];
    const v = checkResize(vm, { memoryMiB: 768 }, tight, others);
    expect(v).toMatchObject({ ok: false, field: 'memoryMiB', migrateTo: ['h2'] });
    expect(v.ok ? '' : v.message).toMatch(/needs 512 MiB more but h0 has 100 MiB free; h2 has room: add --migrate/);
    expect(checkResize(vm, { memoryMiB: 768 }, tight, [others[0]!])).toMatchObject({ ok: false, message: expect.stringMatching(/no other host has room/) });
    expect(checkResize(vm, { memoryMiB: 768 }, tight, [others[0]!])).not.toHaveProperty('migrateTo');
  });

  it('a shrink always fits, even on a full host', () => {
    const full: HostRoom = { name: 'h0', freeCpus: 0, freeMemoryMiB: 0 };
    expect(checkResize({ ...vm, cpus: 3, memoryMiB: 512 }, { cpus: 1, memoryMiB: 256 }, full, [])).toMatchObject({ ok: true });
  });

  it('takes vCPUs away from a running guest only where QEMU can (not without KVM), and says how else', () => {
    const tcg: HostRoom = { name: 'h0', freeCpus: 8, freeMemoryMiB: 4096, cpuUnplug: false };
    const v = checkResize({ ...vm, cpus: 3 }, { cpus: 2 }, tcg, []);
    expect(v).toMatchObject({ ok: false, field: 'cpus', message: expect.stringMatching(/without KVM.*drover vm stop/) });
    expect(checkResize({ ...vm, cpus: 3 }, { cpus: 4, memoryMiB: 300 }, tcg, [])).toMatchObject({ ok: true });
    expect(checkResize({ ...vm, cpus: 3 }, { cpus: 2 }, { ...tcg, cpuUnplug: true }, [])).toMatchObject({ ok: true });
  });
});
