import { existsSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

/**
 * Where the cluster's credentials come from, found the way kubectl finds them, without
 * loading the Kubernetes client (a command that ends up not talking to a cluster must not
 * pay its start-up): `--kubeconfig FILE`, then `KUBECONFIG` (a list of files, merged),
 * then `~/.kube/config`, then the in-cluster service account.
 */
export type ClusterAccess = { source: 'flag' | 'env' | 'home'; files: string[]; context: string | undefined } | { source: 'in-cluster'; files: []; context: undefined };

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

export function findClusterAccess(options: AccessOptions): ClusterAccess | undefined {
  const context = options.context;
  if (options.kubeconfig !== undefined) return { source: 'flag', files: [path.resolve(options.kubeconfig)], context };
  const fromEnv = (options.env.KUBECONFIG ?? '').split(path.delimiter).filter((file) => file !== '');
  if (fromEnv.length > 0) return { source: 'env', files: fromEnv.map((file) => path.resolve(file)), context };
  if (options.useHomeConfig) {
    const home = path.join(options.homeDir ?? options.env.HOME ?? os.homedir(), '.kube', 'config');
    if (existsSync(home)) return { source: 'home', files: [home], context };
  }
  const accountDir = options.serviceAccountDir ?? SERVICE_ACCOUNT_DIR;
  if (options.env.KUBERNETES_SERVICE_HOST !== undefined && existsSync(path.join(accountDir, 'token'))) return { source: 'in-cluster', files: [], context: undefined };
  return undefined;
}

export function describeAccess(access: ClusterAccess): string {
  return access.source === 'in-cluster' ? 'the in-cluster service account' : `kubeconfig ${access.files.join(path.delimiter)}${access.context !== undefined ? ` (context ${access.context})` : ''}`;
}
