import { chmod, mkdtemp, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { Hub } from '../config/load.ts';
import { resolveSecret, type SecretEnv } from '../config/secrets.ts';
import { ConfigError } from '../errors.ts';
import type { CredentialProvider } from '../forge/types.ts';
import type { GitAuth } from '../git/git.ts';
import { isRemoteUrl, urlCredentialProblem } from '../config/repo-url.ts';
import { openManifestsRepo, type ManifestsRepo } from '../git/manifests-repo.ts';
import type { Logger } from '../logger.ts';
import { resolveRouting, usesPullRequests } from '../sync/routing.ts';

/**
 * Opening a hub's manifests repository: its URL, its git credentials. Kept apart from
 * wiring.ts (databases, GitHub) so that `lynq history` loads only what it uses.
 */

export type RepoWiring = {
  repoOverride?: string;
  logger: Logger;
  secretEnv: SecretEnv;
  cacheDir: string | undefined;
  /** The hub's forge credentials, for a token git may borrow; loaded only when needed. */
  credentials: (hub: Hub) => Promise<CredentialProvider | undefined>;
  /** Cancels every git command of the repository (a service shutting down). */
  signal?: AbortSignal;
};

export function repoUrlOf(hub: Hub, repoOverride: string | undefined): string {
  const url = repoOverride ?? repoFromHub(hub);
  if (url === undefined)
    throw new ConfigError('no manifests repository: set spec.publish.repo or pass --repo', {
      hub: hub.name,
      file: hub.file,
      field: 'spec.publish.repo',
    });
  const problem = urlCredentialProblem(url);
  if (problem !== undefined)
    throw new ConfigError(`${repoOverride !== undefined ? '--repo' : 'spec.publish.repo'} ${problem}`, {
      hub: hub.name,
    });
  return url;
}

export async function openHubRepo(hub: Hub, options: RepoWiring): Promise<ManifestsRepo> {
  const url = repoUrlOf(hub, options.repoOverride);
  const auth = await resolveGitAuth(hub, options.secretEnv);
  const open = (resolved: GitAuth | undefined) =>
    openManifestsRepo({
      url,
      cacheDir: options.cacheDir,
      logger: options.logger,
      registry: options.secretEnv.registry,
      auth: resolved,
      signal: options.signal,
      branch: hub.spec.publish.branch,
    });
  // Without a git credential of its own, git borrows the forge's (a PAT, or a GitHub App's installation token).
  if (auth?.token === undefined && auth?.sshKeyFile === undefined && isRemoteUrl(url) && gitMayUseForgeToken(hub)) {
    const provider = await options.credentials(hub);
    const token = await provider?.tokenFor(url);
    // The forge's token goes with the forge's user name (GitLab: `oauth2`), whatever auth.username defaults to.
    if (token !== undefined) return open({ ...auth, token, username: provider?.gitUsername ?? auth?.username });
  }
  return open(auth);
}

/** Whether git may borrow the forge's token: the hub uses pull requests and has forge credentials of its own. */
function gitMayUseForgeToken(hub: Hub): boolean {
  const platform = hub.spec.publish.platform;
  return (
    usesPullRequests(resolveRouting(hub.spec.publish)) && (platform?.app !== undefined || platform?.token !== undefined)
  );
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
  if (auth.token !== undefined)
    resolved.token = await resolveSecret(auth.token, secretEnv, { ...where, field: 'spec.publish.auth.token' });
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
