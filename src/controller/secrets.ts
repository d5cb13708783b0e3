// The controller's secrets, files of mode 0600 in its state dir, made on
// first start: the admin token, the join token, and the key from which each
// host's credential is derived. Deriving (HMAC of host id and generation)
// lets the controller present an agent's credential to that agent while the
// database only holds its hash.
import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export interface ControllerSecrets {
  adminToken: string;
  joinToken: string;
  credentialKey: string;
  /** True when this start created the tokens (main prints the admin token then, once). */
  created: boolean;
}

export function newToken(): string {
  return randomBytes(32).toString('base64url');
}

export function loadOrCreateSecrets(stateDir: string): ControllerSecrets {
  mkdirSync(stateDir, { recursive: true, mode: 0o700 });
  const created = !existsSync(join(stateDir, 'admin-token'));
  return {
    adminToken: readOrCreate(join(stateDir, 'admin-token')),
    joinToken: readOrCreate(join(stateDir, 'join-token')),
    credentialKey: readOrCreate(join(stateDir, 'credential-key')),
    created,
  };
}

function readOrCreate(path: string): string {
  if (existsSync(path)) {
    chmodSync(path, 0o600);
    const text = readFileSync(path, 'utf8').trim();
    if (text) return text;
  }
  const token = newToken();
  writeFileSync(path, `${token}\n`, { mode: 0o600 });
  chmodSync(path, 0o600);
  return token;
}

/** The credential of a host: `<hostId>.<HMAC>`, so a request names its host before it is checked. */
export function hostCredential(key: string, hostId: string, generation: number): string {
  const mac = createHmac('sha256', key).update(`${hostId}:${generation}`).digest('base64url');
  return `${hostId}.${mac}`;
}

export function hashSecret(secret: string): string {
  return createHash('sha256').update(secret).digest('hex');
}

/** Constant-time comparison of a presented secret with the expected one (via their hashes: equal lengths). */
export function secretMatches(presented: string | undefined, expected: string): boolean {
  if (!presented) return false;
  return timingSafeEqual(Buffer.from(hashSecret(presented), 'hex'), Buffer.from(hashSecret(expected), 'hex'));
}

export function hashMatches(presented: string | undefined, expectedHash: string): boolean {
  if (!presented || expectedHash.length !== 64) return false;
  return timingSafeEqual(Buffer.from(hashSecret(presented), 'hex'), Buffer.from(expectedHash, 'hex'));
}

export function hostIdOfCredential(credential: string): string | undefined {
  const dot = credential.indexOf('.');
  return dot > 0 ? credential.slice(0, dot) : undefined;
}
