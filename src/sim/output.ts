// Writes a report to a directory: report.json and the SVG charts.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { reportCharts } from './report/charts.js';
import type { SimReport } from './report/types.js';

export function reportJson(r: SimReport): string {
  return `${JSON.stringify(r, null, 1)}\n`;
}

/** Returns the paths written. */
export function writeReport(dir: string, r: SimReport): string[] {
  mkdirSync(dir, { recursive: true });
  const files: Array<[string, string]> = [['report.json', reportJson(r)], ...Object.entries(reportCharts(r))];
  return files.map(([name, text]) => {
    const path = join(dir, name);
    writeFileSync(path, text);
    return path;
  });
}
