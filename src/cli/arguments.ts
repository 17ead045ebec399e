import { InvalidArgumentError } from 'commander';
import { isDnsLabel } from '../config/dns-label.ts';
import { ConfigError } from '../errors.ts';
import type { NodeRef } from '../git/history.ts';

/** hub/form/uid (a node named on the command line: `lynq render` and `lynq history` read it the same way), each a DNS label: what is read from the user never names a path outside the node. */
export function parseNodeRef(name: string): NodeRef {
  const parts = name.split('/');
  const [hub, form, uid] = parts;
  if (parts.length !== 3 || hub === undefined || form === undefined || uid === undefined)
    throw new ConfigError(`expected hub/form/uid, got ${JSON.stringify(name)}`);
  for (const part of parts) {
    if (!isDnsLabel(part))
      throw new ConfigError(
        `${JSON.stringify(part)} in ${JSON.stringify(name)} is not a DNS label, so no node has that name`,
      );
  }
  return { hub, form, uid };
}

/** `--limit N`: a whole number of at least 1, or a usage error (exit 2). */
export function positiveInteger(value: string): number {
  if (!/^[0-9]+$/.test(value.trim()) || Number(value) < 1)
    throw new InvalidArgumentError('must be a whole number of at least 1.');
  return Number(value);
}

export const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'] as const;

/** `LYNQ_LOG_LEVEL`: unset or empty (as a Kubernetes env entry easily is) means the default. */
export function logLevelOf(env: NodeJS.ProcessEnv, fallback = 'warn'): string {
  const value = env.LYNQ_LOG_LEVEL?.trim();
  if (value === undefined || value === '') return fallback;
  if (!(LOG_LEVELS as readonly string[]).includes(value)) {
    throw new ConfigError(
      `LYNQ_LOG_LEVEL is ${JSON.stringify(value)}; allowed: ${LOG_LEVELS.join(', ')} (unset or empty: ${fallback})`,
    );
  }
  return value;
}
