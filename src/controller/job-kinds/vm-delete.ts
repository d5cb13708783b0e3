// vm.delete: the VM goes Deleting (its assignment says 'absent'), the agent
// kills its QEMU and removes its volumes and files, then the records go.
import type { JobKind } from '../jobs.js';
import { removeVmRecords, waitGone, writeRequest, type VmJobTimeouts } from './vm-steps.js';

export function vmDeleteKind(t: VmJobTimeouts): JobKind {
  return {
    kind: 'vm.delete',
    steps: () => [
      { name: 'request', run: (ctx) => writeRequest(ctx, 'delete', () => ({ vm: {} })) },
      { name: 'gone', run: (ctx) => waitGone(ctx, t.deleteMs) },
      { name: 'remove', run: removeVmRecords },
    ],
  };
}
