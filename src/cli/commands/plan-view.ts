// How `drover plan` prints a plan: a table of actions (wave, action, VM,
// from, to), the VMs it could not place with the constraint per host class,
// and the metrics; --explain adds each action's reason and numbers.
import type { ExplainedAction, Plan, PlanAction, Unplaced } from '../../core/planner/index.js';
import { renderTable } from '../output.js';

function goalText(g: Plan['goal']): string {
  return typeof g === 'string' ? g : `evacuate ${g.evacuate}`;
}

function cells(a: PlanAction): [string, string, string, string] {
  switch (a.kind) {
    case 'place':
      return ['place', a.vm, '-', a.host];
    case 'migrate':
    case 'restart':
      return [a.kind, a.vm, a.from, a.to];
    case 'standby':
      return ['standby', '-', a.host, '-'];
    case 'power-on':
      return [a.atMs === undefined ? 'power-on' : `power-on at ${new Date(a.atMs).toISOString()}`, '-', '-', a.host];
    case 'resize':
      return [`resize to ${a.cpus} vCPUs`, a.vm, a.host, '-'];
  }
}

function numbers(a: ExplainedAction): string {
  const parts = Object.entries(a.numbers ?? {}).map(([k, v]) => `${k}=${v}`);
  if (a.scoreBefore !== undefined && a.scoreAfter !== undefined) parts.unshift(`score ${a.scoreBefore} -> ${a.scoreAfter}`);
  return parts.join('  ');
}

function explained(actions: ExplainedAction[]): string[] {
  return actions.flatMap((a, i) => {
    const [kind, vm, from, to] = cells(a.action);
    const what = [kind, vm !== '-' ? vm : '', from !== '-' ? from : '', to !== '-' ? `-> ${to}` : ''].filter(Boolean).join(' ');
    const lines = [`${i + 1}. ${what}${a.wave !== undefined ? ` (wave ${a.wave})` : ''}`, `   ${a.reason}`];
    const n = numbers(a);
    if (n) lines.push(`   ${n}`);
    return lines;
  });
}

function hostList(r: Unplaced['reasons'][number]): string {
  const count = r.hostCount ?? r.hosts.length;
  if (count === 0) return '';
  const more = count > r.hosts.length ? `, ... ${count - r.hosts.length} more` : '';
  return ` (${count} host(s): ${r.hosts.join(', ')}${more})`;
}

function unplacedLines(list: Unplaced[], explain: boolean): string[] {
  if (list.length === 0) return [];
  const out = ['', `Not placed or not moved: ${list.length} VM(s)`];
  for (const u of list) {
    if (!explain) {
      out.push(`  ${u.vm}: ${u.reasons.map((r) => `${r.constraint}${r.hostCount ? ` on ${r.hostCount} host(s)` : ''}`).join('; ')}`);
      continue;
    }
    out.push(`  ${u.vm}`);
    for (const r of u.reasons) out.push(`    ${r.constraint}${hostList(r)}: ${r.detail}`);
  }
  return out;
}

export function renderPlan(p: Plan, explain: boolean): string {
  const auto = p.automation ? `, automation ${p.automation}` : '';
  const lines = [`Plan: ${goalText(p.goal)}: ${p.actions.length} action(s)${auto}`];
  if (p.automation === 'off') lines.push('(automation is off: the balancer plans nothing)');
  if (p.actions.length > 0) {
    lines.push(explain ? explained(p.actions).join('\n') : renderTable(['wave', 'action', 'vm', 'from', 'to'], p.actions.map((a) => [a.wave, ...cells(a.action)])));
  }
  lines.push(...unplacedLines(p.unplaced, explain));
  lines.push('', `Metrics: ${Object.entries(p.metrics).map(([k, v]) => `${k}=${v}`).join(' ')}`);
  return lines.join('\n');
}
