// A fake `ipmitool` for tests: a shell script in a temp dir that records
// its arguments and the IPMI_PASSWORD it was given, and answers `chassis
// power status|off|on` like ipmitool does, from a state file. Its mode file
// makes it fail (as an unreachable BMC does), fail once, or hang.
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const SCRIPT = `#!/bin/sh
dir=$(dirname "$0")
printf '%s\\t' "$@" >> "$dir/argv.log"; printf '\\n' >> "$dir/argv.log"
printf '%s\\n' "\${IPMI_PASSWORD-(unset)}" >> "$dir/env.log"
mode=$(cat "$dir/mode")
case $mode in
  hang) exec sleep 30 ;;
  fail-once) echo ok > "$dir/mode"; echo "Error: Unable to establish IPMI v2 / RMCP+ session" >&2; exit 1 ;;
  fail) echo "Error: Unable to establish IPMI v2 / RMCP+ session" >&2; exit 1 ;;
esac
for a; do action=$a; done
case $action in
  status) echo "Chassis Power is $(cat "$dir/state")" ;;
  off) echo off > "$dir/state"; echo "Chassis Power Control: Down/Off" ;;
  on) echo on > "$dir/state"; echo "Chassis Power Control: Up/On" ;;
  *) echo "chassis power: unknown action $action" >&2; exit 1 ;;
esac
`;

export type FakeIpmiMode = 'ok' | 'fail' | 'fail-once' | 'hang';

export class FakeIpmitool {
  readonly dir = mkdtempSync(join(tmpdir(), 'drover-ipmitool-'));

  constructor() {
    writeFileSync(join(this.dir, 'ipmitool'), SCRIPT);
    chmodSync(join(this.dir, 'ipmitool'), 0o755);
    this.setState('on');
    this.setMode('ok');
  }

  setState(state: 'on' | 'off'): void {
    writeFileSync(join(this.dir, 'state'), `${state}\n`);
  }

  state(): string {
    return readFileSync(join(this.dir, 'state'), 'utf8').trim();
  }

  setMode(mode: FakeIpmiMode): void {
    writeFileSync(join(this.dir, 'mode'), `${mode}\n`);
  }

  /** The argument lists of every run, in order. */
  calls(): string[][] {
    return this.lines('argv.log').map((l) => l.split('\t').filter((a) => a !== ''));
  }

  /** The IPMI_PASSWORD of every run ("(unset)" when it had none). */
  passwords(): string[] {
    return this.lines('env.log');
  }

  remove(): void {
    rmSync(this.dir, { recursive: true, force: true });
  }

  private lines(file: string): string[] {
    try {
      return readFileSync(join(this.dir, file), 'utf8').split('\n').filter((l) => l !== '');
    } catch {
      return [];
    }
  }
}
