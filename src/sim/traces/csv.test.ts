import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { loadTraces } from '../scenario/load.js';
import { validateScenario } from '../scenario/validate.js';
import { MINUTE } from '../clock.js';
import { parseAzureCpuReadings, parseBitbrainsVm, TraceFormatError } from './csv.js';
import { replay } from './replay.js';

const TRACES = new URL('../../../scenarios/traces/', import.meta.url).pathname;

describe('CSV trace loaders', () => {
  it('reads the Azure sample: three VMs, avg cpu as a fraction, times from the first reading', () => {
    const series = parseAzureCpuReadings(readFileSync(`${TRACES}azure-sample.csv`, 'utf8'), 'azure-sample.csv');
    expect(series).toHaveLength(3);
    expect(series[0]!.id).toMatch(/^yNf\//);
    expect(series[0]!.timesMs.slice(0, 3)).toEqual([0, 300_000, 600_000]);
    expect(series[0]!.cpu[0]).toBeCloseTo(0.1659, 6);
    expect(series.every((s) => s.timesMs.length === 12 && s.memory === undefined)).toBe(true);
  });

  it('Azure: skips a header, sorts by time, names the line of a bad value', () => {
    const s = parseAzureCpuReadings('timestamp,vm id,min cpu,max cpu,avg cpu\n600,a,1,2,30\n300,a,1,2,20\n', 'x.csv');
    expect(s[0]!.timesMs).toEqual([0, 300_000]);
    expect(s[0]!.cpu).toEqual([0.2, 0.3]);
    expect(() => parseAzureCpuReadings('0,a,1,2,30\n300,a,1,2,lots\n', 'x.csv')).toThrow('x.csv:2: avg cpu "lots" is not a number');
    expect(() => parseAzureCpuReadings('0,a,1\n', 'x.csv')).toThrow(TraceFormatError);
  });

  it('reads a Bitbrains sample file: CPU % and memory used over provisioned; seconds despite the header', () => {
    const s = parseBitbrainsVm(readFileSync(`${TRACES}bitbrains-sample/1.csv`, 'utf8'), '1.csv', '1');
    expect(s.timesMs).toHaveLength(12);
    expect(s.timesMs[1]! - s.timesMs[0]!).toBe(300_000);
    expect(s.cpu[0]).toBeCloseTo(0.36314601, 8);
    expect(s.memory![0]).toBeCloseTo(3411094.251991 / 8388608, 8);
  });

  it('Bitbrains: names the missing columns and bad values', () => {
    expect(() => parseBitbrainsVm('Timestamp [ms]; CPU cores\n1;2\n', 'v.csv', 'v')).toThrow(/v\.csv:1: header lacks Memory usage \[KB\], Memory capacity provisioned \[KB\], CPU usage \[%\]/);
    const head = 'Timestamp [ms];CPU usage [MHZ];CPU capacity provisioned [MHZ];Memory capacity provisioned [KB];Memory usage [KB]';
    const s = parseBitbrainsVm(`${head}\n1376314846000;500;1000;100;25\n`, 'v.csv', 'v');
    expect(s.cpu).toEqual([0.5]);
    expect(s.memory).toEqual([0.25]);
    expect(() => parseBitbrainsVm(`${head}\n1;x;1000;100;25\n`, 'v.csv', 'v')).toThrow('v.csv:2: CPU usage [MHZ] "x" is not a number');
  });

  it('replays a series: holds each reading, loops past the end, applies scale and offset', () => {
    const series = { id: 'a', timesMs: [0, 300_000, 600_000], cpu: [0.1, 0.5, 0.9] };
    const t = replay(series, { memory: 0.3, scale: 1, offsetMs: 0 });
    expect([0, 4, 5, 10, 15, 20].map((m) => t.at(m * MINUTE).cpu)).toEqual([0.1, 0.1, 0.5, 0.9, 0.1, 0.5]);
    expect(t.at(0).memory).toBe(0.3);
    expect(replay(series, { memory: 0.3, scale: 2, offsetMs: 5 * MINUTE }).at(0).cpu).toBe(1);
  });

  it('loads the CSV traces a scenario names, relative to its directory, and names the field of a missing file', () => {
    const base = { name: 'x', duration: '1h', step: '5m', hosts: [{ name: 'h', count: 1, cpus: 4, memory: '8G' }] };
    const sc = validateScenario({ ...base, vms: [{ name: 'a', count: 2, cpus: 1, memory: 512, trace: { kind: 'csv', format: 'bitbrains', dir: 'traces/bitbrains-sample' } }] });
    const traces = loadTraces(sc, `${TRACES}..`);
    expect(traces.get('traces/bitbrains-sample')!.map((s) => s.id)).toEqual(['1', '2', '3']);
    const missing = validateScenario({ ...base, vms: [{ name: 'a', count: 1, cpus: 1, memory: 512, trace: { kind: 'csv', format: 'azure', file: 'nope.csv' } }] });
    expect(() => loadTraces(missing, TRACES)).toThrow(/^vms\[0\]\.trace\.file: cannot read .*nope\.csv: ENOENT/);
  });
});
