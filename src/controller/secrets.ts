// The controller's secrets, files of mode 0600 in its state dir, made on
// first start: the admin token, the join token, and the key from which each
// host's credential is derived. Deriving (HMAC of host id and generation)
// lets the controller present an agent's credential to that agent while the
// database only holds its hash. Secrets the controller must use itself (a
// BMC password) cannot be hashed: the database holds them sealed
// (AES-256-GCM, with a key derived from the credential key), so a copy of
// the database alone (a backup, an etcd member) does not give them away.
import { createCipheriv, createDecipheriv, createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
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

const SEALED_PREFIX = 'sealed1';

function sealingKey(credentialKey: string): Buffer {
  return createHmac('sha256', credentialKey).update('drover sealed secrets v1').digest();
}

/** Encrypts `plaintext` for the store; `context` (e.g. "host-power:<hostId>") binds it to its record: it opens only with the same one. */
export function sealSecret(credentialKey: string, plaintext: string, context: string): string {
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', sealingKey(credentialKey), iv).setAAD(Buffer.from(context));
  const data = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
  return [SEALED_PREFIX, iv, cipher.getAuthTag(), data].map((p) => (typeof p === 'string' ? p : p.toString('base64url'))).join('.');
}

/** The plaintext of a sealed secret; throws when it was sealed with another key or context, or was altered. */
export function openSecret(credentialKey: string, sealed: string, context: string): string {
  const [prefix, iv, tag, data] = sealed.split('.');
  if (prefix !== SEALED_PREFIX || iv === undefined || tag === undefined || data === undefined) throw new Error('not a sealed secret');
  const decipher = createDecipheriv('aes-256-gcm', sealingKey(credentialKey), Buffer.from(iv, 'base64url')).setAAD(Buffer.from(context));
  decipher.setAuthTag(Buffer.from(tag, 'base64url'));
  return Buffer.concat([decipher.update(Buffer.from(data, 'base64url')), decipher.final()]).toString('utf8');
}
