import { chmod, mkdtemp, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { Hub } from '../config/load.ts';
import { defaultSecretEnv, resolveSecret, type SecretEnv } from '../config/secrets.ts';
import { ConfigError } from '../errors.ts';
import type { GitAuth } from '../git/git.ts';
import { defaultCacheDir, isRemoteUrl, openManifestsRepo, type ManifestsRepo } from '../git/manifests-repo.ts';
import { secrets, type Logger } from '../logger.ts';
import { readHubRows } from '../sources/factory.ts';
import { DryRunPublisher, PushPublisher } from '../sync/publisher.ts';
import type { SyncDeps } from '../sync/sync-hub.ts';
import { BRIDGE_VERSION } from '../version.ts';

export type WiringOptions = {
  logger: Logger;
  repoOverride?: string;
  dryRun: boolean;
  diff: boolean;
  out: NodeJS.WritableStream;
  env?: NodeJS.ProcessEnv;
  clock?: () => number;
  onPhase?: SyncDeps['onPhase'];
};

/** The composition root: real databases, a cached git clone, a real or dry-run publisher. */
export function createSyncDeps(options: WiringOptions): SyncDeps {
  const env = options.env ?? process.env;
  const secretEnv = defaultSecretEnv(secrets, env);
  return {
    logger: options.logger,
    readRows: (hub) => readHubRows(hub, { secretEnv, logger: options.logger }),
    openRepo: (hub) => openHubRepo(hub, { ...options, secretEnv, cacheDir: options.dryRun ? undefined : defaultCacheDir(env) }),
    publisher: options.dryRun ? new DryRunPublisher(options.out, options.diff) : new PushPublisher(options.clock ?? Date.now),
    bridgeVersion: BRIDGE_VERSION,
    onPhase: options.onPhase,
  };
}

async function openHubRepo(
  hub: Hub,
  options: { repoOverride?: string; logger: Logger; secretEnv: SecretEnv; cacheDir: string | undefined },
): Promise<ManifestsRepo> {
  const url = options.repoOverride ?? repoFromHub(hub);
  if (url === undefined) throw new ConfigError('no manifests repository: set spec.publish.repo or pass --repo', { hub: hub.name, file: hub.file, field: 'spec.publish.repo' });
  const auth = await resolveGitAuth(hub, options.secretEnv);
  return openManifestsRepo({ url, cacheDir: options.cacheDir, logger: options.logger, registry: options.secretEnv.registry, auth });
}

/** A local path in a hub file is relative to that file, like its seedFile and dataDir. */
function repoFromHub(hub: Hub): string | undefined {
  const repo = hub.spec.publish.repo;
  if (repo === undefined || isRemoteUrl(repo)) return repo;
  return path.resolve(path.dirname(hub.file), repo);
}

async function resolveGitAuth(hub: Hub, secretEnv: SecretEnv): Promise<GitAuth | undefined> {
  const auth = hub.spec.publish.auth;
  if (auth === undefined) return undefined;
  const where = { hub: hub.name, file: hub.file };
  const resolved: GitAuth = { username: auth.username, knownHostsFile: auth.knownHostsFile };
  if (auth.token !== undefined) resolved.token = await resolveSecret(auth.token, secretEnv, { ...where, field: 'spec.publish.auth.token' });
  if (auth.sshKey !== undefined) {
    if ('file' in auth.sshKey) {
      resolved.sshKeyFile = auth.sshKey.file;
    } else {
      // ssh reads keys from files only: put the key in a private temporary file.
      const key = await resolveSecret(auth.sshKey, secretEnv, { ...where, field: 'spec.publish.auth.sshKey' });
      const dir = await mkdtemp(path.join(os.tmpdir(), 'lynq-ssh-'));
      resolved.sshKeyFile = path.join(dir, 'id');
      await writeFile(resolved.sshKeyFile, key.endsWith('\n') ? key : `${key}\n`, { mode: 0o600 });
      await chmod(resolved.sshKeyFile, 0o600);
    }
  }
  return resolved;
}
