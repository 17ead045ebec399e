import { existsSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ConfigError } from '../errors.ts';

/**
 * Where the cluster's credentials come from, found the way kubectl finds them, without
 * loading the Kubernetes client (a command that ends up not talking to a cluster must not
 * pay its start-up): `--kubeconfig FILE`, then `KUBECONFIG` (a list of files, merged),
 * then `~/.kube/config`, then the in-cluster service account.
 */
export type ClusterAccess = (
  | { source: 'flag' | 'env' | 'home'; files: string[]; context: string | undefined }
  | { source: 'in-cluster'; files: []; context: undefined }
) & {
  /** How long one request to the API may take, reply read whole (`LYNQ_KUBE_TIMEOUT`); DEFAULT_KUBE_TIMEOUT_MS when absent. */
  timeoutMs?: number;
};

/** The default for LYNQ_KUBE_TIMEOUT: a LIST page of 500 objects takes well under a second on a healthy API server. */
export const DEFAULT_KUBE_TIMEOUT_MS = 30_000;

/**
 * `LYNQ_KUBE_TIMEOUT` (seconds, may have a fraction): how long one request to the
 * Kubernetes API may take before it fails, named. A request that never answers would
 * otherwise hold a sync, its hub lock and a CronJob's every later tick for good.
 */
export function kubeTimeoutMs(env: NodeJS.ProcessEnv): number {
  const text = env.LYNQ_KUBE_TIMEOUT;
  if (text === undefined || text.trim() === '') return DEFAULT_KUBE_TIMEOUT_MS;
  const seconds = Number(text.trim());
  if (!Number.isFinite(seconds) || seconds <= 0 || seconds > 86_400) {
    throw new ConfigError(
      `LYNQ_KUBE_TIMEOUT ${JSON.stringify(text)}: expected a number of seconds between 0 and 86400, like 30`,
    );
  }
  return Math.round(seconds * 1000);
}

export type AccessOptions = {
  kubeconfig?: string;
  context?: string;
  env: NodeJS.ProcessEnv;
  /** `lynq sync` reads back only when a cluster is configured on purpose (flag, KUBECONFIG, in-cluster), not because a developer has a ~/.kube/config. */
  useHomeConfig: boolean;
  /** Tests point these elsewhere. */
  homeDir?: string;
  serviceAccountDir?: string;
};

export const SERVICE_ACCOUNT_DIR = '/var/run/secrets/kubernetes.io/serviceaccount';

/** Where the cluster's credentials are, with the request timeout from the environment (a bad LYNQ_KUBE_TIMEOUT is a ConfigError). */
export function findClusterAccess(options: AccessOptions): ClusterAccess | undefined {
  const found = findCredentials(options);
  return found === undefined ? undefined : { ...found, timeoutMs: kubeTimeoutMs(options.env) };
}

function findCredentials(options: AccessOptions): ClusterAccess | undefined {
  const context = options.context;
  if (options.kubeconfig !== undefined) return { source: 'flag', files: [path.resolve(options.kubeconfig)], context };
  const fromEnv = (options.env.KUBECONFIG ?? '').split(path.delimiter).filter((file) => file !== '');
  if (fromEnv.length > 0) return { source: 'env', files: fromEnv.map((file) => path.resolve(file)), context };
  if (options.useHomeConfig) {
    const home = path.join(options.homeDir ?? options.env.HOME ?? os.homedir(), '.kube', 'config');
    if (existsSync(home)) return { source: 'home', files: [home], context };
  }
  const accountDir = options.serviceAccountDir ?? SERVICE_ACCOUNT_DIR;
  if (options.env.KUBERNETES_SERVICE_HOST !== undefined && existsSync(path.join(accountDir, 'token')))
    return { source: 'in-cluster', files: [], context: undefined };
  return undefined;
}

export function describeAccess(access: ClusterAccess): string {
  return access.source === 'in-cluster'
    ? 'the in-cluster service account'
    : `kubeconfig ${access.files.join(path.delimiter)}${access.context !== undefined ? ` (context ${access.context})` : ''}`;
}
