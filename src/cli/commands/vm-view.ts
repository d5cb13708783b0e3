// How a VM reads in the terminal: one table row, the full detail page, and
// the short summary after create/start with how to reach the guest.
import type { Group } from '../../api/groups.js';
import type { Host, PortForward, Vm, Volume } from '../../api/resources.js';
import { formatHostRule } from '../../core/labels.js';
import { formatLimits } from '../../core/resource-controls.js';
import { appliedLines, usageText } from './limits-view.js';
import { age, formatBytes, mib, renderFields, renderTable } from '../output.js';

export function hostName(vm: Vm, hosts: Host[]): string | undefined {
  if (!vm.hostId) return undefined;
  return hosts.find((h) => h.id === vm.hostId)?.name ?? vm.hostId;
}

export function vmRow(vm: Vm, hosts: Host[], now = Date.now()): Array<string | number | undefined> {
  const ports = vm.spec.ports.map((p) => `${p.hostPort}->${p.guestPort}${p.proto === 'udp' ? '/udp' : ''}`).join(',');
  return [vm.name, vm.phase, hostName(vm, hosts), vm.spec.cpus, mib(vm.spec.memoryMiB), ports || undefined, age(vm.createdAt, now)];
}

export const VM_COLUMNS = ['name', 'phase', 'host', 'cpus', 'memory', 'ports', 'age'];

/** A URL or command that reaches the forwarded guest port, from this machine. */
export function reach(p: PortForward): string {
  const addr = !p.hostAddress || p.hostAddress === '0.0.0.0' ? '127.0.0.1' : p.hostAddress;
  if (p.proto === 'udp') return `${addr}:${p.hostPort} (udp)`;
  if (p.guestPort === 80 || p.guestPort === 8080) return `http://${addr}:${p.hostPort}/`;
  if (p.guestPort === 443) return `https://${addr}:${p.hostPort}/`;
  if (p.guestPort === 22) return `ssh -p ${p.hostPort} ${addr}`;
  return `${addr}:${p.hostPort}`;
}

function portsTable(ports: PortForward[]): string {
  if (ports.length === 0) return '  (no forwarded ports)';
  const rows = ports.map((p) => [`${p.hostAddress}:${p.hostPort}`, p.guestPort, p.proto, reach(p)]);
  return indent(renderTable(['host', 'guest', 'proto', 'reach'], rows));
}

function volumesTable(vm: Vm, volumes: Volume[]): string {
  if (vm.spec.volumes.length === 0) return '  (no volumes)';
  const rows = vm.spec.volumes.map((ref) => {
    const v = volumes.find((x) => x.id === ref.id);
    return [ref.id, ref.detached ? `${ref.role} (detached)` : ref.role, formatBytes(ref.sizeBytes), v ? formatBytes(v.actualSizeBytes) : undefined, ref.backingImage, v?.path];
  });
  return indent(renderTable(['id', 'role', 'size', 'used', 'backing', 'path'], rows));
}

function statsLine(vm: Vm): string {
  const s = vm.stats;
  if (!s) return '  (none reported)';
  const balloon = s.balloonBytes === undefined ? '-' : formatBytes(s.balloonBytes);
  const usage = usageText(vm);
  return `  cpu time ${s.cpuSeconds.toFixed(1)}s, rss ${formatBytes(s.rssBytes)}, balloon ${balloon}, qmp status ${s.qmpStatus ?? '-'}${usage ? `, ${usage}` : ''}`;
}

function when(iso: string | undefined, now: number): string | undefined {
  return iso ? `${iso} (${age(iso, now)} ago)` : undefined;
}

/** "on, priority 5" / "off". */
export function haText(vm: Vm): string {
  return vm.spec.ha ? `on, priority ${vm.spec.haPriority ?? 0}` : `off${vm.spec.haPriority ? ` (priority ${vm.spec.haPriority})` : ''}`;
}

/** "zone=a (must), disk=ssd (should)", or undefined without rules. */
export function hostRulesText(vm: Vm): string | undefined {
  const rules = vm.spec.hostRules ?? [];
  return rules.length ? rules.map((r) => `${formatHostRule({ ...r, strength: 'must' })} (${r.strength})`).join(', ') : undefined;
}

function groupsText(vm: Vm, groups: Group[]): string | undefined {
  const mine = groups.filter((g) => g.vmIds.includes(vm.id));
  return mine.length ? mine.map((g) => `${g.name} (${g.strength} ${g.kind})`).join(', ') : undefined;
}

/** ", N plugged now" while a running VM has not (yet) taken up its new size. */
function pluggedNote(live: number | undefined, want: number, show: (n: number) => string): string {
  return live === undefined || live === want ? '' : `, ${show(live)} plugged now`;
}

export function renderVmDetails(vm: Vm, hosts: Host[], volumes: Volume[], now = Date.now(), groups: Group[] = []): string {
  const host = hostName(vm, hosts);
  const fields = renderFields([
    ['Name', vm.name],
    ['ID', vm.id],
    ['Phase', vm.phase],
    ['Reason', vm.reason],
    ['Intent', `${vm.intent}${vm.forceStop ? ' (force stop)' : ''}`],
    ['Host', host && host !== vm.hostId ? `${host} (${vm.hostId})` : host],
    ['Image', vm.spec.image],
    ['CPUs', `${vm.spec.cpus} (max ${vm.spec.maxCpus})${pluggedNote(vm.live?.cpus, vm.spec.cpus, String)}`],
    ['Memory', `${mib(vm.spec.memoryMiB)} (max ${mib(vm.spec.maxMemoryMiB)}, boots with ${mib(vm.spec.bootMemoryMiB ?? vm.spec.memoryMiB)})${pluggedNote(vm.live?.memoryMiB, vm.spec.memoryMiB, mib)}`],
    ['MAC', vm.spec.mac],
    ['Added NICs', vm.spec.nics?.map((n) => `${n.id} ${n.network} ${n.mac}`).join(', ')],
    ['Network', vm.spec.network?.mode === 'bridge' ? `bridge, address ${vm.spec.network.address}` : 'user (NAT, port forwards)'],
    ['Storage', vm.spec.storage ?? 'local'],
    ['HA', haText(vm)],
    ['Host rules', hostRulesText(vm)],
    ['Groups', groupsText(vm, groups)],
    ['Resource pool', vm.spec.resourcePool],
    ['Limits', formatLimits(vm.spec.limits)],
    ['In force', appliedLines(vm.appliedLimits).join('; ') || undefined],
    ['PID', vm.pid],
    ['Epoch', vm.epoch],
    ['Reboots', vm.rebootSeq],
    ['QEMU start', vm.qemuStartMs === undefined ? undefined : `${Math.round(vm.qemuStartMs)} ms`],
    ['QMP ready', when(vm.qmpReadyAt, now)],
    ['Guest ready', when(vm.guestReadyAt, now)],
    ['Created', when(vm.createdAt, now)],
    ['Updated', when(vm.updatedAt, now)],
  ]);
  return [fields, 'Ports:', portsTable(vm.spec.ports), 'Volumes:', volumesTable(vm, volumes), 'Stats:', statsLine(vm)].join('\n');
}

/** After create/start: the phase, and how to reach the guest. */
export function renderVmSummary(vm: Vm): string {
  const lines = [`VM ${vm.name} is ${vm.phase} (${vm.spec.cpus} vCPU, ${mib(vm.spec.memoryMiB)}, image ${vm.spec.image})`];
  if (vm.reason) lines.push(`  reason: ${vm.reason}`);
  for (const port of vm.spec.ports) {
    const p = { ...port, hostAddress: port.hostAddress ?? vm.forwardAddress ?? '127.0.0.1' };
    lines.push(`  port ${p.hostAddress}:${p.hostPort} -> ${p.guestPort}/${p.proto}   ${reach(p)}`);
  }
  const net = vm.spec.network;
  if (net?.mode === 'bridge') lines.push(`  address ${net.address} (bridged)   http://${net.address.split('/')[0]}/`);
  lines.push(`  console: drover vm console ${vm.name}`);
  return lines.join('\n');
}

function indent(text: string): string {
  return text.split('\n').map((l) => `  ${l}`).join('\n');
}
