// A BMC spoken to over IPMI v2 (RMCP+), through ipmitool as fence_ipmilan
// does: `ipmitool -I lanplus -H HOST [-p PORT] -U USER -L OPERATOR -E
// chassis power status|off|on`. The password goes in the environment
// (IPMI_PASSWORD, read because of -E), never on the command line where `ps`
// would show it. The session asks for OPERATOR privilege, which chassis
// control needs (ipmitool would ask for ADMINISTRATOR): a BMC account of
// least privilege works, and so does an administrator's.
// `chassis power off` is a hard off, like Redfish's ForceOff.
import { execFile } from 'node:child_process';
import { splitIpmiAddress, type PowerDriver, type PowerState, type PowerTarget } from '../../core/power.js';
import { callWithPolicy, DEFAULT_CALL_POLICY, PermanentPowerError, type CallPolicy } from './call-policy.js';

/** `chassis power status` prints "Chassis Power is on" or "... off". */
export function parseChassisStatus(stdout: string): PowerState {
  const m = /Chassis Power is (on|off)/i.exec(stdout);
  return m ? (m[1]!.toLowerCase() as PowerState) : 'unknown';
}

export class IpmiDriver implements PowerDriver {
  constructor(
    private readonly target: PowerTarget,
    private readonly policy: CallPolicy = DEFAULT_CALL_POLICY,
    /** The ipmitool to run: found on PATH unless a path is given. */
    private readonly command = 'ipmitool',
  ) {}

  status(): Promise<PowerState> {
    return callWithPolicy(this.target, 'power status', this.policy, async (signal) => parseChassisStatus(await this.chassisPower('status', signal)));
  }

  async powerOff(): Promise<void> {
    await callWithPolicy(this.target, 'power off', this.policy, (signal) => this.chassisPower('off', signal));
  }

  async powerOn(): Promise<void> {
    await callWithPolicy(this.target, 'power on', this.policy, (signal) => this.chassisPower('on', signal));
  }

  /** The arguments of one call: no password among them. */
  args(action: 'status' | 'off' | 'on'): string[] {
    const { host, port } = splitIpmiAddress(this.target.address);
    return ['-I', 'lanplus', '-H', host, ...(port ? ['-p', String(port)] : []), '-U', this.target.username, '-L', 'OPERATOR', '-E', 'chassis', 'power', action];
  }

  private chassisPower(action: 'status' | 'off' | 'on', signal: AbortSignal): Promise<string> {
    const env = { ...process.env, IPMI_PASSWORD: this.target.password };
    return new Promise((resolve, reject) => {
      execFile(this.command, this.args(action), { env, signal, killSignal: 'SIGKILL', maxBuffer: 1024 * 1024 }, (err, stdout, stderr) => {
        if (!err) return resolve(stdout);
        const code = (err as NodeJS.ErrnoException).code;
        if (code === 'ENOENT') return reject(new PermanentPowerError(`${this.command} is not installed on the controller's machine (not found on its PATH); install it: apt-get install ipmitool`));
        if (code === 'EACCES') return reject(new PermanentPowerError(`${this.command} cannot be run (permission denied)`));
        const said = `${stderr}\n${stdout}`.split('\n').map((l) => l.trim()).filter(Boolean).slice(-3).join(' / ');
        reject(new Error(`ipmitool chassis power ${action} exited with ${String(code ?? (err as { signal?: string }).signal ?? 'an error')}${said ? `: ${said}` : ''}`));
      });
    });
  }
}
