import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { ConfigError, type ErrorWhere } from '../errors.ts';
import type { SecretRegistry } from '../logger.ts';
import type { SecretRef } from './hub-schema.ts';

export type SecretEnv = {
  env: NodeJS.ProcessEnv;
  /** Where Lynq-style `{ name, key }` references are read: `<dir>/<name>/<key>`. */
  secretsDir: string;
  registry: SecretRegistry;
};

export function defaultSecretEnv(registry: SecretRegistry, env: NodeJS.ProcessEnv = process.env): SecretEnv {
  return { env, secretsDir: secretsDirOf(env), registry };
}

/** Where Lynq-style `{ name, key }` references are read from. */
export function secretsDirOf(env: NodeJS.ProcessEnv): string {
  return env.LYNQ_SECRETS_DIR ?? '/var/run/secrets/lynq';
}

/**
 * Read a secret without a cluster and register it with the logger's scrubber before
 * anyone can log it. A trailing newline in a file is dropped (editors add one).
 */
export async function resolveSecret(ref: SecretRef, secretEnv: SecretEnv, where: ErrorWhere): Promise<string> {
  let value: string;
  if ('env' in ref) {
    const found = secretEnv.env[ref.env];
    if (found === undefined) throw new ConfigError(`environment variable ${ref.env} is not set`, where);
    value = found;
  } else {
    const file = 'file' in ref ? ref.file : path.join(secretEnv.secretsDir, ref.name, ref.key);
    try {
      value = (await readFile(file, 'utf8')).replace(/\r?\n$/, '');
    } catch (cause) {
      throw new ConfigError(`cannot read secret file ${file}`, where, { cause });
    }
  }
  secretEnv.registry.add(value);
  return value;
}
