import { ConfigError, type ErrorWhere } from '../errors.ts';

export type RepoCoordinates = { host: string; owner: string; repo: string };

const NAME = /^[A-Za-z0-9_.-]+$/;

/**
 * Owner and repository from a manifests repository URL, in the forms people paste:
 * `https://github.com/acme/manifests(.git)`, `ssh://git@github.com/acme/manifests.git`,
 * `git@github.com:acme/manifests.git`. The last two path segments are owner and repo
 * (a server that serves repositories under a prefix works too).
 */
export function parseRepoUrl(url: string, where: ErrorWhere = {}): RepoCoordinates {
  let host: string;
  let pathname: string;
  const scp = /^(?:[^@/]+@)?([^:/]+):(?!\/)(.+)$/.exec(url);
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(url)) {
    let parsed: URL;
    try {
      parsed = new URL(url);
    } catch (cause) {
      throw new ConfigError(`cannot read owner and repository from ${JSON.stringify(redactUserInfo(url))}`, where, {
        cause,
      });
    }
    host = parsed.host;
    pathname = decodeURIComponent(parsed.pathname);
  } else if (scp) {
    host = scp[1]!;
    pathname = scp[2]!;
  } else {
    throw new ConfigError(
      `pull requests need the manifests repository as a URL on the forge (https or ssh), not the path ${JSON.stringify(url)}`,
      where,
    );
  }
  const parts = pathname
    .replace(/\/+$/, '')
    .replace(/\.git$/, '')
    .split('/')
    .filter((part) => part !== '');
  const owner = parts.at(-2);
  const repo = parts.at(-1);
  if (owner === undefined || repo === undefined || !NAME.test(owner) || !NAME.test(repo)) {
    throw new ConfigError(
      `cannot read owner and repository from ${JSON.stringify(redactUserInfo(url))}: expected …/<owner>/<repo>(.git)`,
      where,
    );
  }
  return { host, owner, repo };
}

/** A URL with credentials in it must not reach a message. */
function redactUserInfo(url: string): string {
  return url.replace(/^([a-z][a-z0-9+.-]*:\/\/)[^@/]*@/i, '$1');
}
