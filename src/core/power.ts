// Power control of a host's machine through its BMC (docs/failover.md,
// "Power fencing"; docs/operations.md, "Power fencing (BMC)"). This file
// holds the port (PowerDriver: what the controller asks of a BMC) and the
// pure check of a host's power settings. The drivers that speak to BMCs
// (Redfish, IPMI) are adapters in src/host/power; the controller gets them
// injected, since it never imports src/host itself.

export const POWER_DRIVERS = ['redfish', 'ipmi'] as const;
export type PowerDriverName = (typeof POWER_DRIVERS)[number];

/** 'unknown': the BMC answered, but with a state that is neither on nor off. */
export type PowerState = 'on' | 'off' | 'unknown';

/** One machine's power, through its BMC. Every call has its own timeout and retries; errors name the host and the BMC. */
export interface PowerDriver {
  status(): Promise<PowerState>;
  /** Hard off at once (Redfish ForceOff, IPMI chassis power off): no guest or OS shutdown. */
  powerOff(): Promise<void>;
  powerOn(): Promise<void>;
}

/** What a driver needs to reach one host's BMC. */
export interface PowerTarget {
  /** The host's name (for error messages). */
  hostName: string;
  driver: PowerDriverName;
  /** redfish: http(s)://bmc[:port][/redfish/v1/Systems/ID]; ipmi: host[:port]. */
  address: string;
  username: string;
  password: string;
  /** redfish over https: accept any certificate (self-signed BMCs). */
  insecure?: boolean;
}

export type PowerDriverFactory = (target: PowerTarget) => PowerDriver;

/** "redfish https://10.0.0.5" — how messages name a BMC (never with its credentials). */
export function bmcLabel(t: Pick<PowerTarget, 'driver' | 'address'>): string {
  return `${t.driver} ${t.address}`;
}

/** A bad power setting, with the field at fault and what it allows. */
export class PowerSettingsError extends Error {
  constructor(
    readonly field: string,
    message: string,
    readonly allowed?: string,
  ) {
    super(`${field}: ${message}`);
    this.name = 'PowerSettingsError';
  }
}

export interface PowerSettingsInput {
  driver: string;
  address: string;
  username: string;
  password?: string;
  insecure?: boolean;
}

export interface CheckedPowerSettings {
  driver: PowerDriverName;
  address: string;
  username: string;
  insecure: boolean;
}

/** IPMI v2 limits (the protocol's own): a user name of at most 16 bytes, a password of at most 20. */
export const POWER_LIMITS = { ipmiUser: 16, ipmiPassword: 20, user: 128, password: 256 } as const;

const SYSTEM_PATH = /^\/redfish\/v1\/Systems\/[^/?#]+\/?$/;
const REDFISH_ADDRESS = 'http(s)://bmc[:port], or http(s)://bmc[:port]/redfish/v1/Systems/ID when the BMC has several systems';
const IPMI_ADDRESS = 'a host name or address, optionally with :port (bmc1.example, 10.0.0.5:623, [fd00::5]:623)';
// Printable, no spaces or control characters: these go into ipmitool's arguments and HTTP headers.
const PRINTABLE = /^[\x21-\x7e\u00a0-\uffff]+$/;

/**
 * The settings with the address normalised, or a PowerSettingsError naming
 * the field. `hasPassword`: a password is stored already (a change may keep it).
 */
export function checkPowerSettings(input: PowerSettingsInput, hasPassword: boolean): CheckedPowerSettings {
  if (!(POWER_DRIVERS as readonly string[]).includes(input.driver)) throw new PowerSettingsError('driver', `"${input.driver}" is not a power driver`, POWER_DRIVERS.join(', '));
  const driver = input.driver as PowerDriverName;
  const address = driver === 'redfish' ? checkRedfishAddress(input.address.trim()) : checkIpmiAddress(input.address.trim());
  const ipmi = driver === 'ipmi';
  const username = input.username;
  const userMax = ipmi ? POWER_LIMITS.ipmiUser : POWER_LIMITS.user;
  if (!username || username.length > userMax || !PRINTABLE.test(username)) {
    throw new PowerSettingsError('username', `the BMC user must be 1-${userMax} printable characters without spaces${ipmi ? ' (IPMI allows 16)' : ''}`, `1-${userMax} printable characters`);
  }
  if (input.password === undefined) {
    if (!hasPassword) throw new PowerSettingsError('password', 'is required: the BMC password (drover host power set ... --password-file FILE)');
  } else {
    const max = ipmi ? POWER_LIMITS.ipmiPassword : POWER_LIMITS.password;
    if (input.password.length === 0 || input.password.length > max || /[\x00-\x1f\x7f]/.test(input.password)) {
      throw new PowerSettingsError('password', `must be 1-${max} characters without control characters or line breaks${ipmi ? ' (IPMI allows 20)' : ''}`, `1-${max} characters`);
    }
  }
  if (input.insecure && !address.startsWith('https://')) throw new PowerSettingsError('insecure', 'skipping certificate checks applies only to a redfish address over https', 'true only with driver redfish and an https:// address');
  return { driver, address, username, insecure: input.insecure === true };
}

function checkRedfishAddress(text: string): string {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new PowerSettingsError('address', `"${text}" is not a URL; give the BMC's Redfish service`, REDFISH_ADDRESS);
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') throw new PowerSettingsError('address', `a redfish address is http:// or https://, not ${url.protocol}`, REDFISH_ADDRESS);
  if (url.username || url.password) throw new PowerSettingsError('address', 'put no credentials in the URL: give the user in username and the password in password', REDFISH_ADDRESS);
  if (url.search || url.hash) throw new PowerSettingsError('address', 'a redfish address has no query or fragment', REDFISH_ADDRESS);
  const path = url.pathname === '/' ? '' : url.pathname;
  if (path && !SYSTEM_PATH.test(path)) throw new PowerSettingsError('address', `the path "${path}" is not a Redfish system (/redfish/v1/Systems/ID)`, REDFISH_ADDRESS);
  return `${url.origin}${path.replace(/\/$/, '')}`;
}

function checkIpmiAddress(text: string): string {
  if (text.includes('://')) throw new PowerSettingsError('address', `an ipmi address is a host, not a URL ("${text}")`, IPMI_ADDRESS);
  const m = /^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9][A-Za-z0-9.-]*)(?::(\d{1,5}))?$/.exec(text);
  const port = m?.[2] === undefined ? undefined : Number(m[2]);
  if (!m || (port !== undefined && (port < 1 || port > 65535)) || text.length > 253) throw new PowerSettingsError('address', `"${text}" is not a host name or address`, IPMI_ADDRESS);
  return text;
}

/** The host and port of an ipmi address (port undefined: ipmitool's default, 623). */
export function splitIpmiAddress(address: string): { host: string; port?: number } {
  const m = /^(\[[^\]]+\]|[^:]+)(?::(\d+))?$/.exec(address);
  const host = (m?.[1] ?? address).replace(/^\[(.*)\]$/, '$1');
  return m?.[2] ? { host, port: Number(m[2]) } : { host };
}
