// `drover automation show|set|run` (the balancer and power levels: off,
// recommend, automatic) and `drover recommendations` (what the latest pass
// decided, --explain for the reasons and numbers). docs/automation.md.
import { Command } from 'commander';
import { AUTOMATION_LEVELS, AutomationLimits as L, type AutomationLevel, type AutomationPass, type AutomationSettings, type AutomationSettingsUpdate, type Recommendation } from '../../api/automation.js';
import { action, type Ctx } from '../context.js';
import { writeLine, type CliIo } from '../io.js';
import { printJson, renderFields, renderTable, UsageError } from '../output.js';
import { parseCount } from '../parse.js';

interface SetOptions {
  balance?: string;
  power?: string;
  grow?: string;
  growAt?: string;
  interval?: string;
  maxMoves?: string;
  haFailures?: string;
}

export function automationCommand(io: CliIo): Command {
  const cmd = new Command('automation').description('How far the balancer and the power planner act on their own: off, recommend, automatic');
  cmd.command('show').description('Show the automation settings').action(action(io, showSettings));
  cmd.command('set')
    .description('Change automation settings (the options left out keep their value)')
    .option('--balance <level>', `balancer: ${AUTOMATION_LEVELS.join(', ')} (default recommend)`)
    .option('--power <level>', `power (consolidation, standby, power-on): ${AUTOMATION_LEVELS.join(', ')} (default off)`)
    .option('--grow <level>', `reallocation by need (grow busy VMs live, else move them to room and grow them there): ${AUTOMATION_LEVELS.join(', ')} (default recommend)`)
    .option('--grow-at <percent>', `grow a VM busy on at least this share of its vCPUs, ${L.minGrowAt * 100}-${L.maxGrowAt * 100}% (default 85%)`)
    .option('--interval <seconds>', `seconds between passes, ${L.minIntervalS}-${L.maxIntervalS} (default 300)`)
    .option('--max-moves <n>', `migrations the balancer plans per pass, ${L.minMaxMoves}-${L.maxMaxMoves} (default 8)`)
    .option('--ha-failures <n>', `host failures HA admission keeps room for, ${L.minHaFailures}-${L.maxHaFailures} (default 1; 0: off)`)
    .addHelpText('after', '\nExamples:\n  drover automation set --balance automatic\n  drover automation set --power recommend --interval 600\n  drover automation set --ha-failures 2\n  drover automation set --grow automatic --grow-at 90%')
    .action(action(io, setSettings));
  cmd.command('run').description('Run a pass now and print what it decided').option('--explain', 'show the reason and the numbers behind each action')
    .action(action(io, runPass));
  return cmd;
}

export function recommendationsCommand(io: CliIo): Command {
  return new Command('recommendations')
    .description('What the latest automation pass decided: each action, its outcome, and (--explain) why')
    .option('--explain', 'show the reason and the numbers behind each action')
    .action(action(io, showRecommendations));
}

function parseLevel(text: string, option: string): AutomationLevel {
  const level = AUTOMATION_LEVELS.find((l) => l === text.trim().toLowerCase());
  if (!level) throw new UsageError(`${option} "${text}" is not an automation level`, option, AUTOMATION_LEVELS.join(', '));
  return level;
}

/** "90%" or "0.9": a share of a VM's vCPUs within the --grow-at bounds. */
function parseShare(text: string, option: string): number {
  const t = text.trim();
  const n = t.endsWith('%') ? Number(t.slice(0, -1)) / 100 : Number(t);
  const allowed = `${L.minGrowAt * 100}% to ${L.maxGrowAt * 100}% (e.g. 85% or 0.85)`;
  if (t === '' || t === '%' || !Number.isFinite(n) || n < L.minGrowAt || n > L.maxGrowAt) throw new UsageError(`${option} "${text}" is not a share from ${allowed}`, option, allowed);
  return Math.round(n * 1000) / 1000;
}

/** The request body from the flags; every bad flag is a UsageError (exit 2) before anything is sent. */
export function buildSettingsUpdate(o: SetOptions): AutomationSettingsUpdate {
  const body: AutomationSettingsUpdate = {};
  if (o.balance !== undefined) body.balance = parseLevel(o.balance, '--balance');
  if (o.power !== undefined) body.power = parseLevel(o.power, '--power');
  if (o.grow !== undefined) body.grow = parseLevel(o.grow, '--grow');
  if (o.growAt !== undefined) body.growAt = parseShare(o.growAt, '--grow-at');
  if (o.interval !== undefined) body.intervalS = parseCount(o.interval, '--interval', L.minIntervalS, L.maxIntervalS);
  if (o.maxMoves !== undefined) body.maxMoves = parseCount(o.maxMoves, '--max-moves', L.minMaxMoves, L.maxMaxMoves);
  if (o.haFailures !== undefined) body.haFailures = parseCount(o.haFailures, '--ha-failures', L.minHaFailures, L.maxHaFailures);
  if (Object.keys(body).length === 0) throw new UsageError('nothing to set', '--balance', 'at least one of --balance, --power, --grow, --grow-at, --interval, --max-moves, --ha-failures');
  return body;
}

function renderSettings(s: AutomationSettings): string {
  return renderFields([['balance', s.balance], ['power', s.power], ['grow', `${s.grow ?? 'recommend'} (at ${Math.round((s.growAt ?? 0.85) * 100)}% of a VM's vCPUs)`], ['interval', `${s.intervalS} s`], ['max moves', s.maxMoves], ['ha failures', s.haFailures ?? 1], ['updated', s.updatedAt ?? '(defaults)']]);
}

async function showSettings(ctx: Ctx): Promise<void> {
  const s = await ctx.client().call('getAutomation');
  if (ctx.json) return printJson(ctx.io.stdout, s);
  writeLine(ctx.io.stdout, renderSettings(s));
}

async function setSettings(ctx: Ctx, o: SetOptions): Promise<void> {
  const s = await ctx.client().call('setAutomation', { body: buildSettingsUpdate(o) });
  if (ctx.json) return printJson(ctx.io.stdout, s);
  writeLine(ctx.io.stdout, renderSettings(s));
}

async function runPass(ctx: Ctx, o: { explain?: boolean }): Promise<void> {
  const p = await ctx.client().call('runAutomation', { body: {} });
  if (ctx.json) return printJson(ctx.io.stdout, p);
  writeLine(ctx.io.stdout, renderPass(p, o.explain === true));
}

async function showRecommendations(ctx: Ctx, o: { explain?: boolean }): Promise<void> {
  const p = await ctx.client().call('listRecommendations');
  if (ctx.json) return printJson(ctx.io.stdout, p);
  writeLine(ctx.io.stdout, renderPass(p, o.explain === true));
}

function numbers(r: Recommendation): string {
  const parts = Object.entries(r.numbers ?? {}).map(([k, v]) => `${k}=${v}`);
  if (r.scoreBefore !== undefined && r.scoreAfter !== undefined) parts.unshift(`score ${r.scoreBefore} -> ${r.scoreAfter}`);
  return parts.join('  ');
}

function explained(recs: Recommendation[]): string {
  return recs.flatMap((r, i) => {
    const lines = [`${i + 1}. ${r.summary} (${r.goal}, wave ${r.wave ?? 0}): ${r.state}${r.detail ? `: ${r.detail}` : ''}`, `   ${r.reason}`];
    const n = numbers(r);
    if (n) lines.push(`   ${n}`);
    return lines;
  }).join('\n');
}

function metricsLine(name: string, m: Record<string, number> | undefined): string[] {
  return m ? [`${name}: ${Object.entries(m).map(([k, v]) => `${k}=${v}`).join(' ')}`] : [];
}

export function renderPass(p: AutomationPass, explain: boolean): string {
  if (!p.at) return 'No automation pass has run yet (drover automation run runs one now).';
  const lines = [`Pass at ${p.at} (${p.trigger}): balance ${p.balance}, power ${p.power}${p.grow ? `, grow ${p.grow}` : ''}`];
  if (p.skipped) lines.push(`Planned nothing: ${p.skipped}`);
  if (p.error) lines.push(`Failed: ${p.error}`);
  if (!p.skipped && !p.error && p.recommendations.length === 0) lines.push('Nothing to do: the planner found no action worth taking');
  if (p.recommendations.length > 0) {
    const rows = p.recommendations.map((r) => [r.goal, r.wave ?? 0, r.summary, r.state, r.migrationId ?? r.jobId ?? r.detail ?? '']);
    lines.push(explain ? explained(p.recommendations) : renderTable(['goal', 'wave', 'action', 'state', 'detail'], rows));
  }
  const metrics = [...metricsLine('balance', p.metrics.balance), ...metricsLine('power', p.metrics.power), ...metricsLine('grow', p.metrics.grow)];
  if (metrics.length) lines.push('', ...metrics);
  return lines.join('\n');
}
