// One VM's demand trace from its group's trace spec. CSV traces give VM i of
// the group the series i (mod the number of series), in file order.
import { bursty, diurnal, step } from '../traces/synthetic.js';
import { replay } from '../traces/replay.js';
import type { TraceSeries } from '../traces/csv.js';
import type { DemandTrace } from '../traces/types.js';
import type { TraceSpec } from '../scenario/types.js';

export function traceFor(spec: TraceSpec, loaded: Map<string, TraceSeries[]>, seed: number, vmId: string, indexInGroup: number): DemandTrace {
  switch (spec.kind) {
    case 'diurnal':
      return diurnal(spec, seed, vmId);
    case 'bursty':
      return bursty(spec, seed, vmId);
    case 'step':
      return step(spec, seed, vmId);
    case 'csv': {
      const series = loaded.get(spec.path);
      if (!series || series.length === 0) throw new Error(`trace ${spec.path} was not loaded (load the scenario with loadScenarioFile or loadTraces)`);
      return replay(series[indexInGroup % series.length]!, spec);
    }
  }
}
